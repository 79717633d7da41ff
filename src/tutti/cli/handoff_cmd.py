"""`tt handoff generate AGENT | apply AGENT [--packet P] | list [--agent A] [--limit N]`."""

from __future__ import annotations

import click

from tutti.cli.output import echo, emit_json, table


@click.group()
def handoff() -> None:
    """Generate, apply or list handoff packets."""


@handoff.command("generate")
@click.argument("agent")
@click.option("--reason", default="manual", show_default=True)
@click.option("--ctx", "ctx", type=float, default=None, help="Context %% used (default: read from the screen).")
@click.option("--json", "as_json", is_flag=True)
def generate_cmd(agent: str, reason: str, ctx: float | None, as_json: bool) -> None:
    """Write a handoff packet for AGENT."""
    from tutti.ops.handoff import generate
    from tutti.workspace import load_workspace

    packet = generate(load_workspace(), agent, reason=reason, ctx=ctx)
    emit_json(packet) if as_json else echo(packet.packet)


@handoff.command("apply")
@click.argument("agent")
@click.option("--packet", default=None, help="Packet path (relative to the workspace root); default: newest.")
@click.option("--force", is_flag=True, help="Send even if this session already got (or may have got) the packet.")
def apply_cmd(agent: str, packet: str | None, force: bool) -> None:
    """Send a handoff packet to a running AGENT (once per agent session unless --force)."""
    from tutti.ops.handoff import apply
    from tutti.workspace import load_workspace

    result = apply(load_workspace(), agent, packet=packet, force=force)
    if result.reason == "already-applied":
        echo(f"{result.packet} was already applied to this session of {agent}; nothing sent (--force resends)")
    else:
        echo(f"Applied {result.packet} to {agent}")


@handoff.command("list")
@click.option("--agent", default=None)
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_cmd(agent: str | None, limit: int, as_json: bool) -> None:
    """Handoff packets, newest first."""
    from tutti.ops.handoff import list_packets
    from tutti.workspace import load_workspace

    entries = list_packets(load_workspace(), agent=agent, limit=limit)
    if as_json:
        emit_json([e.to_dict() for e in entries])
    elif not entries:
        echo("No handoff packets.")
    else:
        table(["AGENT", "MODIFIED", "PATH"], [(e.agent, e.modified, e.path) for e in entries])
