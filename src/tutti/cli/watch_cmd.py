"""`tt watch`: the operator's live view of agents and runs (ops.watch is the model)."""

from __future__ import annotations

import click


@click.command()
@click.option("-w", "--workspace", "workspace", default=None, help="A registered workspace instead of the current one.")
@click.option("--once", is_flag=True, help="Draw once and exit (no supervisor, no keys).")
@click.option("--json", "as_json", is_flag=True, help="With --once: the view as JSON, for scripts.")
@click.option("--no-supervise", is_flag=True,
              help="Only watch: do not run the supervisor (state detection, recovery, auto-handoff) here.")
def watch(workspace: str | None, once: bool, as_json: bool, no_supervise: bool) -> None:
    """Live view: each agent's state, age, task, context, tokens and cost today; the run lane.

    Keys: ↑/↓ (j/k) select · p peek · a attach · s send · A approve · L land · f next failing · q quit.
    It runs the same supervisor as `tt serve` (host "watch"), so auto-handoff at the context
    threshold works while you watch.
    """
    import sys

    from tutti.errors import UsageError
    from tutti.ops.resolve import current_workspace
    from tutti.ops.watch import WatchModel

    if as_json and not once:
        raise UsageError("--json needs --once (the live view is for a terminal)", hint="tt watch --once --json")
    ws = current_workspace(workspace)
    model = WatchModel(ws).load()
    if once:
        _once(model, as_json)
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("`tt watch` needs an interactive terminal (stdin/stdout are not a tty)",
                         hint="use `tt watch --once --json` in scripts")
    supervisor = None
    if not no_supervise:
        from tutti.supervisor.core import Supervisor

        supervisor = Supervisor([ws], host="watch")
        supervisor.start()
    from tutti.cli.watch_app import WatchApp

    try:
        WatchApp(ws, model).run()
    finally:
        if supervisor is not None:
            supervisor.close(timeout=2.0)


def _once(model, as_json: bool) -> None:
    if as_json:
        from tutti.cli.output import emit_json

        emit_json(model.snapshot())
        return
    from rich.console import Console

    from tutti.cli.watch_view import build

    console = Console()
    width = console.size.width
    console.print(build(model, selected=-1, width=width, height=10_000, message=""))
