"""`tt host`: serve this machine's Temporal task queue (agents placed with `host = "NAME"`)."""

from __future__ import annotations

import click


@click.command("host")
@click.option("--name", "name", default=None, help="This host's name: serves <prefix>.host.NAME.")
@click.option("--control", is_flag=True, help="Also serve the control queue (the workflow and the store's writes).")
def host(name: str | None, control: bool) -> None:
    """Run a Temporal worker until SIGTERM: step attempts of the agents placed on this host run
    here, with this machine's tmux server and worktrees; their events are forwarded to the
    control store. Needs [engine] kind = "temporal"."""
    from tutti.ops.host import serve_host
    from tutti.ops.resolve import current_workspace

    serve_host(current_workspace(None), name=name, control=control,
               on_ready=lambda queues: click.echo(f"tt host ready: serving {', '.join(queues)}", nl=True))
