"""`tt runs list|show|cancel`: the run ledger, read from the workspace store."""

from __future__ import annotations

from typing import Any

import click

from tutti.cli.output import echo, emit_json, table


@click.group("runs")
def runs() -> None:
    """Workflow runs recorded in the workspace store."""


@runs.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="How many runs.")
@click.option("--workflow", default=None, help="Only runs of this workflow.")
def list_cmd(as_json: bool, limit: int, workflow: str | None) -> None:
    """Recent runs, newest first."""
    from tutti.ops.run import list_runs
    from tutti.workspace import load_workspace_for_read

    rows = list_runs(load_workspace_for_read(), limit=limit, workflow=workflow)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        echo("No tracked runs.")
        return
    headers = ["Run", "Workflow", "Origin", "Status", "Steps", "Started", "Duration"]
    body = [[r["run_id"], r["workflow"], r["origin"], _status_label(r), f"{r['steps_done']}/{r['steps_total']}",
             r["started_at"], _secs(r["duration_ms"])] for r in rows]
    if any(r["parent_run_id"] for r in rows):  # nested and hook runs point at the run that started them
        headers.append("Parent")
        for row, r in zip(body, rows):
            row.append(r["parent_run_id"] or "")
    table(headers, body)


@runs.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(run_id: str, as_json: bool) -> None:
    """One run: its steps, status, durations, cost and what to do next."""
    from tutti.ops.run import get_run
    from tutti.workspace import load_workspace

    run = get_run(load_workspace(), run_id)
    if as_json:
        emit_json(run)
        return
    echo(f"Run:       {run['run_id']}")
    if run.get("kind") == "direct":
        echo(f"Direct:    API-direct agent run (origin {run['origin']}{', agent ' + run['agent_scope'] if run['agent_scope'] else ''})"
             f" — step by step: tt replay {run['run_id']}")
    else:
        echo(f"Workflow:  {run['workflow']} (origin {run['origin']}{', strict' if run['strict'] else ''}"
             f"{', agent ' + run['agent_scope'] if run['agent_scope'] else ''})")
    echo(f"Status:    {_status_label(run)}" + (f" — failed steps {run['failed_steps']}" if run["failed_steps"] else ""))
    echo(f"Started:   {run['started_at']}   Finished: {run['finished_at'] or '-'}   Duration: {_secs(run['duration_ms']) or '-'}")
    echo(f"Cost:      ${run['cost_usd']:.4f}   tokens in/out: {run['input_tokens']}/{run['output_tokens']}")
    if run["parent_run_id"]:
        echo(f"Parent:    {run['parent_run_id']}")
    if run["children"]:
        echo(f"Children:  {', '.join(run['children'])}")
    if run["resumes"]:
        echo(f"Resumed:   {run['resumes']} time(s)")
    table(["#", "Step", "Type", "Agent", "Status", "Try", "Duration", "Message"],
          [[s["index"], s["key"], s["type"], s["agent"] or "", s["status"], s["attempt"] or "",
            _secs(s["duration_ms"]), _short(s["message"])] for s in run["steps"]])
    if run["error"]:
        echo(f"Error:     {run['error']}")
    failed_logs = [s["log_path"] for s in run["steps"] if s["status"] in ("failed", "timed_out") and s["log_path"]]
    if failed_logs:
        echo(f"Log:       {failed_logs[0]}")
    if run["next_action"]:
        echo(f"Next action: {run['next_action']}")


@runs.command("cancel")
@click.argument("run_id")
def cancel(run_id: str) -> None:
    """Ask a running run to stop (its running commands are killed)."""
    from tutti.ops.run import cancel_run
    from tutti.workspace import load_workspace

    if cancel_run(load_workspace(), run_id):
        echo(f"cancel requested for run {run_id}")
    else:
        echo(f"run {run_id} is not running; nothing to cancel")


def _secs(ms: Any) -> str:
    return "" if ms is None else f"{ms / 1000:.1f}s"


def _short(text: str, width: int = 80) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= width else line[: width - 3] + "..."


def _status_label(run: dict) -> str:
    """`succeeded` only when nothing warned: a run with warnings says so."""
    warned = run.get("warning_count") or 0
    return f"{run['status']} ({warned} warning{'s' if warned != 1 else ''})" if warned and run["status"] == "succeeded" \
        else run["status"]
