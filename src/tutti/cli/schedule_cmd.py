"""`tt schedule list|run|sync`."""

from __future__ import annotations

import click

from tutti.cli.output import echo, emit_json, table


@click.group()
def schedule() -> None:
    """Run, list or sync scheduled workflows."""


@schedule.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(as_json: bool) -> None:
    """Show each scheduled workflow and its next fire time."""
    from tutti.ops.schedule import list_schedules, on_temporal
    from tutti.workspace import load_workspace

    ws = load_workspace()
    if on_temporal(ws):
        _list_temporal(ws, as_json)
        return
    entries = list_schedules(ws)
    if as_json:
        emit_json([e.to_dict() for e in entries])
        return
    if not entries:
        echo("No workflows have a `schedule`.")
        return
    rows = [(e.workflow, e.expression, e.timezone, e.to_dict()["next_fire_local"],
             e.last_run.isoformat() if e.last_run else "-") for e in entries]
    table(["WORKFLOW", "SCHEDULE", "TIMEZONE", "NEXT FIRE", "LAST RUN"], rows)


def _list_temporal(ws, as_json: bool) -> None:  # noqa: ANN001
    from tutti.ops.schedule import temporal_schedules

    rows = temporal_schedules(ws)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        echo("No workflows have a `schedule`.")
        return
    table(["WORKFLOW", "SCHEDULE", "TIMEZONE", "NEXT FIRE (UTC)", "ON TEMPORAL"],
          [(r["workflow"], r.get("cron") or "-", r.get("timezone") or "-", (r.get("next_fire_times") or ["-"])[0],
            ("yes" if r["in_sync"] else "out of sync (tt schedule sync)") if r["on_temporal"] else "no (tt schedule sync)")
           for r in rows])


@schedule.command("sync")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def sync_cmd(as_json: bool) -> None:
    """Make the Temporal Schedules match tutti.toml ([engine] kind = "temporal")."""
    from tutti.ops.schedule import sync
    from tutti.workspace import load_workspace

    rows = sync(load_workspace())
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        echo(f"{r['action']:<9} {r['workflow']} ({r['schedule_id']})")
    if not rows:
        echo("No workflows have a `schedule`, and no Temporal Schedules were left to delete.")


@schedule.command("run")
@click.option("--interval", "interval", type=click.FloatRange(min=0.5), default=15.0, show_default=True,
              help="Seconds between ticks (at least 0.5).")
def run_cmd(interval: float) -> None:
    """Foreground loop: start each workflow when its schedule is due (Ctrl-C stops)."""
    from tutti.errors import UsageError
    from tutti.ops.schedule import list_schedules
    from tutti.supervisor.scheduler import run_schedules
    from tutti.workspace import load_workspace

    ws = load_workspace()
    if not list_schedules(ws):  # a loop with nothing to do would wait forever, silently
        raise UsageError(f"nothing to run: no [[workflow]] in {ws.config_path} has a `schedule`",
                         hint='add schedule = "0 9 * * 1-5" (cron) to a workflow, then `tt schedule list` shows it')

    def report(decisions) -> None:
        for d in decisions:
            if d.action == "started":
                extra = f" ({d.missed_slots} missed slots collapsed)" if d.missed_slots > 1 else ""
                echo(f"started workflow '{d.workflow}' for slot {d.slot.isoformat()}{extra}")
            elif d.action == "skipped_in_flight":
                echo(f"skipped workflow '{d.workflow}': previous run still in flight")

    echo(f"scheduler running for workspace '{ws.name}' (Ctrl-C to stop)")
    try:
        run_schedules(ws, interval_secs=interval, on_tick=report)
    except KeyboardInterrupt:
        echo("scheduler stopped")
