"""`tt approvals list|approve|deny`: the human decisions the agents and the loop wait for."""

from __future__ import annotations

import json

import click

from tutti.cli.output import echo, emit_json, table


@click.group()
def approvals() -> None:
    """List and decide pending approvals (tool calls, merges)."""


@approvals.command("list")
@click.option("--all", "show_all", is_flag=True, help="Every approval, not only pending ones.")
@click.option("--status", type=click.Choice(["pending", "approved", "denied"]), default=None,
              help="Only approvals with this status.")
@click.option("--run", "run_id", default=None, help="Only approvals of this run.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(show_all: bool, status: str | None, run_id: str | None, as_json: bool) -> None:
    """Approvals waiting for a decision (--all for decided ones too)."""
    from tutti.ops.approvals import list_approvals
    from tutti.workspace import load_workspace

    wanted = status or (None if show_all else "pending")
    found = list_approvals(load_workspace(), status=wanted, run_id=run_id)
    if as_json:
        emit_json([a.to_dict() for a in found])
        return
    if not found:
        echo("No pending approvals." if wanted == "pending" else "No approvals.")
        return
    table(["ID", "STATUS", "RUN", "AGENT", "WHAT", "REQUESTED"],
          [[a.approval_id, a.status, a.run_id, a.agent or "-", _what(a.tool, a.args), a.requested_at] for a in found])


def _what(tool: str, args: dict) -> str:
    text = json.dumps(args, separators=(",", ":"), default=str)
    return f"{tool} {text if len(text) <= 60 else text[:57] + '...'}"


def _decide(approval_id: str, approve: bool, reason: str | None, as_json: bool) -> None:
    from tutti.ops.approvals import decide
    from tutti.workspace import load_workspace

    result = decide(load_workspace(), approval_id, approve, by="cli", reason=reason)
    if as_json:
        emit_json(result.to_dict())
    else:
        echo(f"{result.status.capitalize()} {result.approval_id} ({result.tool}, run {result.run_id}).")


@approvals.command()
@click.argument("approval_id")
@click.option("--reason", default=None, help="Recorded with the decision.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def approve(approval_id: str, reason: str | None, as_json: bool) -> None:
    """Allow what APPROVAL_ID asks for."""
    _decide(approval_id, True, reason, as_json)


@approvals.command()
@click.argument("approval_id")
@click.option("--reason", default=None, help="Why (shown to the agent or the loop).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def deny(approval_id: str, reason: str | None, as_json: bool) -> None:
    """Refuse what APPROVAL_ID asks for."""
    _decide(approval_id, False, reason, as_json)
