"""`tt loop [--lanes N] [--once] [--json]`: claim work items and drive them to merged."""

from __future__ import annotations

import click

from tutti.cli.output import echo, emit_json, table


@click.command()
@click.option("--lanes", type=int, default=None, help="Parallel lanes (default: [loop] lanes).")
@click.option("--once", is_flag=True, help="Stop when no open item is left (instead of polling for more).")
@click.option("--first-lane", type=int, default=1, show_default=True,
              help="Number of the first lane (several loop processes on one workspace use distinct lanes).")
@click.option("--max-items", type=int, default=None, help="Stop after this many items.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report at the end.")
def loop(lanes: int | None, once: bool, first_lane: int, max_items: int | None, as_json: bool) -> None:
    """Run [loop]: claim items, implement, review, merge through the queue, close."""
    import signal
    import threading

    from tutti.ops.loop import run_loop
    from tutti.workspace import load_workspace

    cancel = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: cancel.set())

    def progress(result) -> None:
        if not as_json:
            echo(f"{result.lane}: {result.key} {result.status}" + (f" — {result.message}" if result.message else ""))

    try:
        report = run_loop(load_workspace(), lanes=lanes, once=once, first_lane=first_lane, max_items=max_items,
                          cancel=cancel, on_result=progress)
    except KeyboardInterrupt:
        cancel.set()
        raise
    if as_json:
        emit_json(report.to_dict())
    else:
        if report.items:
            table(["ITEM", "STATUS", "LANE", "ROUNDS", "HEAD"],
                  [[i.key, i.status, i.lane, i.rounds, (i.head or "")[:12]] for i in report.items])
        others = len(report.items) - report.merged - report.no_change
        echo(f"{report.merged} merged, {report.no_change} with no change to merge (left open), "
             f"{others} not merged ({report.lanes} lane(s)).")
        for i in report.items:
            if i.status == "no_change":
                echo(f"  {i.key}: {i.message}")
    # An item the loop could not merge (failed, or its lane produced nothing) needs a person.
    if any(i.status in ("failed", "no_change") for i in report.items):
        raise SystemExit(1)
