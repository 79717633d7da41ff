"""`tt run` and `tt verify`: parse, call `tutti.ops.run`, render."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from tutti.cli.output import echo, emit_json, table, warn
from tutti.errors import UsageError, WorkflowFailed

if TYPE_CHECKING:
    from tutti.workflows.engine import RunResult


@click.command("run")
@click.argument("workflow", required=False)
@click.option("--resume", "resume", metavar="RUN_ID", help="Continue a crashed/failed run; completed steps are skipped.")
@click.option("--list", "list_", is_flag=True, help="List the configured workflows.")
@click.option("--agent", help="Run every agent-scoped step against this agent.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--strict", is_flag=True, help="Every step fails closed.")
@click.option("--dry-run", is_flag=True, help="Print the resolved plan without running it.")
@click.option("--direct", is_flag=True, help="Prompt steps use the API-direct executor when the agent has a provider.")
def run(workflow: str | None, resume: str | None, list_: bool, agent: str | None, as_json: bool, strict: bool,
        dry_run: bool, direct: bool) -> None:
    """Run a workflow from tutti.toml (or list them, dry-run one, resume a run)."""
    from tutti.workspace import load_workspace

    _check_run_args(workflow, resume, list_, agent, strict, dry_run, direct)
    if list_:
        _list_workflows(as_json)
        return
    ws = load_workspace()
    from tutti.ops import run as ops

    if dry_run:
        plan = ops.dry_run(ws, workflow or "", agent=agent, strict=strict)
        if as_json:
            emit_json(plan)
        else:
            _render_plan(plan)
        return
    if resume:
        preview = ops.resume_preview(ws, resume, strict=strict)
        _render_resume_preview(preview, err=as_json)
    result = _interruptible(lambda cancel, on_event: ops.run_workflow(
        ws, workflow, strict=strict, agent=agent, resume=resume, cancel=cancel, direct=direct, on_event=on_event,
        on_warning=warn), progress=not as_json)
    _render_result(result, as_json)
    if not result.success:
        raise WorkflowFailed(result.failure_message(), hint=_failure_hint(result))


@click.command("verify")
@click.option("--last", is_flag=True, help="Show the last verify summary instead of running.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--workflow", default=None, help="Workflow to run (default: verify).")
@click.option("--agent", help="Run agent-scoped steps against this agent.")
@click.option("--strict", is_flag=True, help="Fail (exit 1) when a step fails; otherwise command failures are warnings.")
def verify(last: bool, as_json: bool, workflow: str | None, agent: str | None, strict: bool) -> None:
    """Run the verify workflow (exits non-zero only with --strict)."""
    from tutti.workspace import load_workspace

    if last and (workflow or agent or strict):
        raise UsageError("--last cannot be used with --workflow, --agent or --strict", hint="tt verify --last [--json]")
    ws = load_workspace()
    from tutti.ops import run as ops

    if last:
        found = ops.last_verify(ws)
        if as_json:
            emit_json(found)
        elif not found["found"]:
            echo("No verify run recorded yet. Run `tt verify`.")
        else:
            s = found["summary"]
            table(["#", "Step", "Type", "Status", "Duration", "Message"],
                  [[x["step_index"], x.get("step_id") or "", x["step_type"], x["status"], _secs(x.get("duration_ms")),
                    x.get("message", "")] for x in s.get("steps", [])])
            warned = f" with {s['warning_count']} warning(s)" if s.get("warning_count") else ""
            verdict = f"success{warned}" if s["success"] else f"failed (steps: {s['failed_steps']})"
            echo(f"Last verify ({s['workflow_name']}, {s['timestamp']}, run {s.get('run_id')}): {verdict}")
        return
    result = _interruptible(lambda cancel, on_event: ops.verify(ws, workflow or "verify", strict=strict, agent=agent,
                                                                 on_event=on_event, on_warning=warn, cancel=cancel),
                            progress=not as_json)
    _render_result(result, as_json)
    if result.status == "cancelled":  # even non-strict: a stopped verify proved nothing
        raise WorkflowFailed(result.failure_message(), hint=_failure_hint(result))
    if not result.success and strict:
        raise WorkflowFailed(f"verify failed in strict mode (failed steps: {result.failed_steps}): "
                             + result.failure_detail(), hint=_failure_hint(result))


# -- argument rules (inventory §1) ---------------------------------------------------------------
def _list_workflows(as_json: bool) -> None:
    """From the validated-config cache when it matches tutti.toml (no pydantic), else a full load."""
    from tutti.config import notices
    from tutti.config.cache import cached_summary
    from tutti.paths import find_workspace_root

    root = find_workspace_root()
    summary = cached_summary(root) if root is not None else None
    if summary is not None:
        notices.publish(summary["warnings"])
        rows = summary["workflows"]
    else:
        from tutti.ops import run as ops
        from tutti.workspace import load_workspace

        rows = ops.list_workflows(load_workspace())
    if as_json:
        emit_json([{k: r[k] for k in ("name", "description", "steps")} for r in rows])
    elif not rows:
        echo("No workflows configured.")
    else:
        table(["Workflow", "Steps", "Description"], [[r["name"], r["steps"], r["description"] or ""] for r in rows])


def _check_run_args(workflow: str | None, resume: str | None, list_: bool, agent: str | None, strict: bool,
                    dry_run: bool, direct: bool) -> None:
    if list_ and (workflow or resume or agent or strict or dry_run or direct):
        raise UsageError("--list cannot be combined with a WORKFLOW, --resume, --agent, --strict, --dry-run or --direct",
                         hint="tt run --list [--json]")
    if resume and (workflow or dry_run):
        raise UsageError("--resume cannot be combined with a WORKFLOW name or --dry-run",
                         hint="tt run --resume RUN_ID (the workflow comes from the run)")
    if not list_ and not resume and not workflow:
        raise UsageError("workflow name is required unless --list or --resume is set", hint="tt run --list")


# -- running with Ctrl-C → cancel ------------------------------------------------------------------
def _interruptible(fn: Callable[[threading.Event, Any], RunResult], *, progress: bool) -> RunResult:
    """Run in a worker thread so Ctrl-C cancels the run cleanly (process groups killed, status
    `cancelled`) instead of orphaning the commands."""
    cancel = threading.Event()
    done = threading.Event()
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = fn(cancel, _progress if progress else None)
        except BaseException as exc:  # re-raised in the main thread
            box["error"] = exc
        finally:
            done.set()

    def on_signal(signum: int, _frame: Any) -> None:
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        echo(f"cancelling run ({name})...", err=True)
        cancel.set()

    # Ctrl-C, SIGTERM and SIGHUP (kill, closed terminal) all cancel: the run records `cancelled`
    # and its commands' process groups are killed instead of being orphaned. SIGINT gets a
    # handler rather than a KeyboardInterrupt: one raised inside Thread.join() can leave
    # is_alive() False while the worker still runs (tt then exited mid-run with a KeyError
    # traceback and left the step's command running).
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    worker = threading.Thread(target=work, name="tt-run", daemon=True)
    worker.start()
    try:
        while not done.wait(0.2):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if "error" in box:
        raise box["error"]
    return box["result"]


def _progress(kind: str, data: dict[str, Any]) -> None:
    """Live progress on stderr. Each step appears once — in the result table; while it runs a
    terminal shows one transient status line, and a failed step's last output lines follow."""
    live = sys.stderr.isatty()
    if kind == "workflow.started":
        verb = "resuming" if data.get("resumed") else "run"
        echo(f"{verb} {data['run_id']} ({data['workflow_name']})", err=True)
    elif kind == "workflow.step.started" and live:
        _status_line(f"  [{data['step_index']}] {data['step_key']} running...")
    elif kind == "workflow.step.finished":
        step, outcome = data["step"], data["outcome"]
        if live:
            _status_line("")
        if outcome.status in ("failed", "timed_out"):
            # the reason is usually in the last lines ("No module named pytest"): show them here
            # rather than sending a new user to the log file for every failure
            echo(f"  [{step.index}] {step.key} {outcome.status}: {outcome.message}", err=True)
            for line in [ln for ln in (outcome.output_tail or "").splitlines() if ln.strip()][-5:]:
                echo(f"      | {_short(line, 120)}", err=True)


def _status_line(text: str) -> None:
    sys.stderr.write("\r\x1b[2K" + text)
    sys.stderr.flush()


# -- rendering -------------------------------------------------------------------------------------
def _secs(ms: Any) -> str:
    return "" if ms is None else f"{ms / 1000:.1f}s"


def _render_result(result: RunResult, as_json: bool) -> None:
    if as_json:
        emit_json(result.to_dict())
        return
    table(["#", "Step", "Type", "Status", "Duration", "Message"],
          [[s["step_index"], s.get("step_id") or s.get("step_key") or "", s["step_type"], s["status"],
            _secs(s.get("duration_ms")), _short(s.get("message", ""))] for s in result.steps])
    for s in result.steps:  # an open step's fix (a blocked command's rule file) is not in the cut table cell
        if s["status"] == "warning" and s.get("hint"):
            echo(f"  [{s['step_index']}] {s.get('step_key')} warning: {s.get('message', '')}\n  hint: {s['hint']}", err=True)
    if result.success:
        extra = f" with {result.warning_count} warning(s)" if result.warning_count else ""
        echo(f"Result: success{extra} (run {result.run_id})")
    else:
        echo(f"Result: {result.status} (steps: {result.failed_steps}) (run {result.run_id})")
    for hook in result.hooks:
        if not hook["success"]:
            echo(f"hook {hook['action']} ({hook['fail_mode']}): {hook['message']}", err=True)


def _short(text: str, width: int = 90) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 3] + "..."


def _failure_hint(result: RunResult) -> str:
    logs = [s.get("log_path") for s in result.steps if s["step_index"] in result.failed_steps and s.get("log_path")]
    hint = f"details: tt runs show {result.run_id}; after fixing: tt run --resume {result.run_id}"
    fixes = result.failure_hints()  # a step's own fix (e.g. a blocked command's rule file) comes first
    if fixes:
        hint = "; ".join(fixes) + "\n  then " + hint
    if logs:
        hint += f"; log: {logs[0]}"
    return hint


def _render_plan(plan: dict[str, Any]) -> None:
    strict = " (strict)" if plan["strict"] else ""
    echo(f"Workflow: {plan['workflow']}{strict}" + (f" — {plan['description']}" if plan.get("description") else ""))
    rows = []
    for s in plan["steps"]:
        deps = ",".join(str(d) for d in s["depends_on"])
        rows.append([s["index"], s["type"], s.get("agent") or "", s.get("cwd") or "", s.get("fail_mode") or "",
                     deps, _short(s.get("command") or s.get("summary") or s.get("workflow") or "", 80)])
    table(["#", "Type", "Agent", "CWD", "Fail", "After", "Summary"], rows)
    echo("Waves: " + "  ".join("[" + ",".join(str(i) for i in w) + "]" for w in plan["waves"]))
    _render_defaults(plan)


def _render_defaults(plan: dict[str, Any]) -> None:
    """Every default in effect, so nothing about how the run behaves is implicit."""
    from tutti.config.step_defaults import DEFAULTS

    lines = []
    for s in plan["steps"]:
        for key, value in (s.get("defaults") or {}).items():
            meaning = DEFAULTS.get(s["type"], {}).get(key, (None, ""))[1]
            shown = str(value).lower() if isinstance(value, bool) else (f'"{value}"' if isinstance(value, str) else value)
            if key == "fail_mode" and s.get("fail_mode") not in (None, value):
                meaning = f"overridden for this run: {s['fail_mode']} (--strict / tt verify)"
            lines.append(f"  step {s['index']} ({s['type']}): {key} = {shown} — {meaning}")
    if lines:
        echo("Defaults in effect (not set in tutti.toml):")
        for line in lines:
            echo(line)


def _render_resume_preview(preview: dict[str, Any], *, err: bool) -> None:
    out = (lambda m: echo(m, err=True)) if err else echo
    out(f"Resuming run {preview['run_id']} of '{preview['workflow']}' (was {preview['status']})")
    if preview["skip"]:
        out("  skip (already done): " + ", ".join(f"{s['index']} {s['key']}" for s in preview["skip"]))
    out("  will run: " + ", ".join(f"{s['index']} {s['key']} (attempt {s['attempt']})" for s in preview["run"]))
    for note in preview["compensator"]:
        out(f"  compensator preflight: {note}")
    sys.stdout.flush()
