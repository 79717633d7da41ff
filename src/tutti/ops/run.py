"""Use-cases behind `tt run`, `tt verify`, `tt runs` and the HTTP run actions.

Every function takes a Workspace and returns data (dicts / RunResult); nothing prints. The
HTTP server calls exactly these: `start_run` returns a run id at once and the run proceeds in
a background thread (progress flows through store events); `run_workflow` blocks.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from tutti.errors import NotFoundError, UsageError
from tutti.fsutil import write_json_atomic
from tutti.store.db import now_iso

if TYPE_CHECKING:
    from collections.abc import Callable

    from tutti.workflows.engine import Engine, OnEvent, RunResult
    from tutti.workspace import Workspace

RESUMABLE = ("failed", "cancelled", "interrupted")


def list_workflows(ws: Workspace) -> list[dict[str, Any]]:
    return [{"name": w.name, "description": w.description, "steps": len(w.steps), "schedule": w.schedule}
            for w in ws.config.workflows]


def dry_run(ws: Workspace, name: str, agent: str | None = None, strict: bool = False,
            force_open: bool = False) -> dict[str, Any]:
    """The resolved plan with literal command strings (templates are not rendered)."""
    from tutti.workflows.plan import resolve_plan

    return resolve_plan(ws, name, agent=agent, strict=strict, force_open=force_open).to_dict()


def run_workflow(ws: Workspace, name: str | None, *, strict: bool = False, agent: str | None = None,
                 origin: str = "run", resume: str | None = None, cancel: threading.Event | None = None,
                 direct: bool = False, force_open: bool = False, on_event: OnEvent | None = None,
                 on_warning: Callable[[str], None] | None = None) -> RunResult:
    """Run (or with `resume=RUN_ID` continue) a workflow to completion.

    The budget (tutti.budget) is checked first: BudgetError when enforced and exhausted;
    threshold warnings go to `on_warning`."""
    if ws.config.engine.kind == "temporal":  # one Temporal workflow per run (tutti.distributed)
        return _on_temporal(ws, name, strict=strict, agent=agent, origin=origin, resume=resume, direct=direct,
                            force_open=force_open, on_warning=on_warning, cancel=cancel)
    engine = _engine(ws, name, strict=strict, agent=agent, origin=origin, resume=resume, cancel=cancel,
                     direct=direct, force_open=force_open, on_event=on_event, on_warning=on_warning)
    result = engine.run()
    if result.workflow == "verify" and result.status != "cancelled":
        # `tt run verify` is a verify too: `tt verify --last` shows whichever ran last
        _record_verify(ws, result, strict=strict or engine.plan.strict, agent=agent)
    return result


def start_run(ws: Workspace, name: str | None, *, strict: bool = False, agent: str | None = None,
              origin: str = "run", resume: str | None = None, cancel: threading.Event | None = None,
              direct: bool = False, force_open: bool = False, on_event: OnEvent | None = None,
              on_warning: Callable[[str], None] | None = None) -> str:
    """Record the run and return its id at once; the steps run in a background thread."""
    if ws.config.engine.kind == "temporal":
        return _on_temporal(ws, name, strict=strict, agent=agent, origin=origin, resume=resume, direct=direct,
                            force_open=force_open, on_warning=on_warning, background=True, cancel=cancel)
    engine = _engine(ws, name, strict=strict, agent=agent, origin=origin, resume=resume, cancel=cancel,
                     direct=direct, force_open=force_open, on_event=on_event, on_warning=on_warning)
    run_id = engine.prepare()
    threading.Thread(target=engine.execute, name=f"tutti-run-{run_id}", daemon=True).start()
    return run_id


def _on_temporal(ws: Workspace, name: str | None, *, origin: str, agent: str | None, background: bool = False,
                 on_warning: Callable[[str], None] | None = None, **kw: Any) -> Any:
    from tutti.budget import check as budget_check
    from tutti.distributed import run as temporal

    for warning in budget_check(ws, "verify" if origin == "verify" else "run", agent).warnings:
        if on_warning is not None:
            on_warning(warning)
    if background:
        return temporal.start_on_temporal(ws, name, origin=origin, agent=agent, **kw)
    result = temporal.run_on_temporal(ws, name, origin=origin, agent=agent, **kw)
    if result.workflow == "verify" and result.status != "cancelled":
        _record_verify(ws, result, strict=kw.get("strict", False), agent=agent)
    return result


def verify(ws: Workspace, workflow: str = "verify", strict: bool = False, agent: str | None = None,
           on_event: OnEvent | None = None, on_warning: Callable[[str], None] | None = None,
           cancel: threading.Event | None = None) -> RunResult:
    """Run the verify workflow; without strict, command failures are warnings (§1 `tt verify`)."""
    result = run_workflow(ws, workflow, strict=strict, agent=agent, origin="verify", force_open=not strict,
                          on_event=on_event, on_warning=on_warning, cancel=cancel)
    if result.workflow != "verify":
        _record_verify(ws, result, strict=strict, agent=agent)
    return result


def _record_verify(ws: Workspace, result: RunResult, *, strict: bool, agent: str | None) -> None:
    write_json_atomic(ws.state_dir / "verify-last.json", {
        "workflow_name": result.workflow, "timestamp": now_iso(), "success": result.success,
        "failed_steps": result.failed_steps, "strict": strict, "agent_scope": agent, "run_id": result.run_id,
        "warning_count": result.warning_count,
        "steps": [{k: s.get(k) for k in ("step_index", "step_id", "step_type", "status", "duration_ms", "message")}
                  for s in result.steps],
    })


def last_verify(ws: Workspace) -> dict[str, Any]:
    import json

    path = ws.state_dir / "verify-last.json"
    try:
        return {"found": True, "summary": json.loads(path.read_text(encoding="utf-8"))}
    except FileNotFoundError:
        return {"found": False, "summary": None}
    except ValueError as exc:
        raise NotFoundError(f"{path} is not valid JSON: {exc}", hint="run `tt verify` again") from None


# -- resume --------------------------------------------------------------------------------------
def resume_preview(ws: Workspace, run_id: str, *, strict: bool = False) -> dict[str, Any]:
    """What `tt run --resume RUN_ID` will skip and run, and compensator notes for half-done steps."""
    from tutti.workflows.steps import DONE_STATUSES, EXECUTOR_MODULES, import_optional

    state, plan = _resume_state(ws, run_id, strict=strict)
    skip, run, notes = [], [], []
    for step in plan.steps:
        prior = state.steps.get(step.index)
        if prior is not None and prior.status in DONE_STATUSES:
            skip.append({"index": step.index, "key": step.key, "type": step.type, "status": prior.status})
            continue
        run.append({"index": step.index, "key": step.key, "type": step.type,
                    "prior_status": prior.status if prior else None,
                    "attempt": (prior.attempt + 1) if prior else 1})
        if prior is not None and prior.status == "running":
            module_name = EXECUTOR_MODULES.get(step.type)
            module = import_optional(module_name) if module_name else None
            note = module.resume_note(step) if module is not None and hasattr(module, "resume_note") else None
            if note:
                notes.append(f"step {step.index} ({step.type}) has an intent without an outcome; {note}")
            elif module is not None and hasattr(module, "already_done"):
                notes.append(f"step {step.index} ({step.type}) has an intent without an outcome; "
                             "its compensator preflight decides whether to replay it")
            else:
                notes.append(f"step {step.index} ({step.type}) has an intent without an outcome; "
                             "it will be replayed — verify its side effects are safe to repeat")
    return {"run_id": run_id, "workflow": state.workflow, "status": _effective_status(run_id, state.status, state.params),
            "strict": plan.strict, "agent": plan.agent_scope, "skip": skip, "run": run, "compensator": notes}


def _resume_state(ws: Workspace, run_id: str, *, strict: bool):
    from tutti.workflows.checkpoints import load_run_state
    from tutti.workflows.plan import check_run_id, resolve_plan
    from tutti.workflows.steps import DONE_STATUSES

    state = load_run_state(ws, check_run_id(run_id))
    status = _effective_status(run_id, state.status, state.params)
    if status == "succeeded":
        raise UsageError(f"run '{run_id}' already succeeded; nothing to resume", hint=f"start a new run: tt run {state.workflow}")
    if status == "running" and state.params.get("engine") != "temporal":  # a temporal run: --resume attaches
        raise UsageError(f"run '{run_id}' is still running (pid {state.params.get('pid')})",
                         hint=f"wait for it, or cancel it first: tt runs cancel {run_id}")
    plan = resolve_plan(ws, state.workflow, agent=state.agent_scope, strict=state.strict or strict,
                        force_open=bool(state.params.get("force_open")))
    recorded = [s.get("key") for s in state.params.get("plan", [])]
    if recorded and recorded != [s.key for s in plan.steps]:
        raise UsageError(f"workflow '{state.workflow}' changed since run '{run_id}' started (its steps differ)",
                         hint=f"start a new run: tt run {state.workflow}")
    if all(state.steps.get(s.index) and state.steps[s.index].status in DONE_STATUSES for s in plan.steps):
        raise UsageError(f"run '{run_id}' has no pending steps to resume", hint=f"start a new run: tt run {state.workflow}")
    return state, plan


def _engine(ws: Workspace, name: str | None, *, strict: bool, agent: str | None, origin: str, resume: str | None,
            cancel: threading.Event | None, direct: bool, force_open: bool, on_event: OnEvent | None,
            on_warning: Callable[[str], None] | None = None) -> Engine:
    from tutti.budget import check as budget_check
    from tutti.workflows.engine import Engine
    from tutti.workflows.plan import resolve_plan

    for warning in budget_check(ws, "verify" if origin == "verify" else "run", agent).warnings:
        if on_warning is not None:
            on_warning(warning)

    if resume is not None:
        state, plan = _resume_state(ws, resume, strict=strict)
        if agent is not None and agent != state.agent_scope:
            raise UsageError(f"run '{resume}' ran with agent scope {state.agent_scope!r}; --agent {agent} cannot change it",
                             hint="drop --agent when resuming")
        return Engine(ws, plan, resume=state, direct=direct or bool(state.params.get("direct")), cancel=cancel,
                      on_event=on_event)
    if not name:
        raise UsageError("workflow name is required unless --list or --resume is set", hint="tt run --list")
    plan = resolve_plan(ws, name, agent=agent, strict=strict, force_open=force_open)
    return Engine(ws, plan, origin=origin, direct=direct, cancel=cancel, on_event=on_event)


# -- reading runs --------------------------------------------------------------------------------
def _effective_status(run_id: str, status: str, params: dict[str, Any], kind: str = "workflow") -> str:
    """A `running` row whose process is gone is an interrupted (resumable) run."""
    from tutti.workflows.checkpoints import pid_alive
    from tutti.workflows.engine import active_engine

    if status != "running" or params.get("engine") == "temporal":  # Temporal owns a temporal run's liveness
        return status
    pid = params.get("pid")
    # Direct runs have no workflow engine; in this process their row is the truth.
    if pid == os.getpid() and kind != "direct":
        return "running" if active_engine(run_id) is not None else "interrupted"
    return "running" if pid_alive(pid, params.get("pid_started")) else "interrupted"


def list_runs(ws: Workspace, limit: int = 20, workflow: str | None = None) -> list[dict[str, Any]]:
    import json

    sql = "SELECT * FROM runs"
    params: tuple = ()
    if workflow:
        sql, params = sql + " WHERE workflow = ?", (workflow,)
    rows = ws.store.query(sql + " ORDER BY started_at DESC, rowid DESC LIMIT ?", (*params, max(1, limit)))
    marks = ",".join("?" * len(rows))
    counts = {(r["run_id"], r["status"]): r["n"] for r in ws.store.query(
        f"SELECT run_id, status, COUNT(*) AS n FROM steps WHERE run_id IN ({marks}) GROUP BY run_id, status",
        tuple(r["run_id"] for r in rows))} if rows else {}
    out = []
    for r in rows:
        p = json.loads(r["params"] or "{}")
        total = len(p.get("plan", []))
        done = sum(counts.get((r["run_id"], s), 0) for s in ("success", "warning", "skipped"))
        status = _effective_status(r["run_id"], r["status"], p, r["kind"])
        warned = counts.get((r["run_id"], "warning"), 0)
        # A run that succeeded with warnings is never reported as a plain success (`outcome`).
        out.append({"run_id": r["run_id"], "kind": r["kind"], "workflow": r["workflow"], "origin": r["origin"],
                    "status": status, "warning_count": warned,
                    "outcome": "succeeded_with_warnings" if status == "succeeded" and warned else status,
                    "strict": bool(r["strict"]),
                    "agent_scope": r["agent_scope"], "started_at": r["started_at"], "finished_at": r["finished_at"],
                    "duration_ms": _duration_ms(r["started_at"], r["finished_at"]), "steps_done": done,
                    "steps_total": total, "parent_run_id": p.get("parent_run_id"),
                    "cost_usd": r["cost_usd"], "input_tokens": r["input_tokens"], "output_tokens": r["output_tokens"]})
    return out


def get_run(ws: Workspace, run_id: str) -> dict[str, Any]:
    """One run with every planned step (pending ones included), from the store."""
    import json

    from tutti.workflows.plan import check_run_id

    rows = ws.store.query("SELECT * FROM runs WHERE run_id = ?", (check_run_id(run_id),))
    if not rows:
        raise NotFoundError(f"run '{run_id}' not found in {ws.store.path}", hint="list runs with `tt runs list`")
    r = rows[0]
    params = json.loads(r["params"] or "{}")
    result = json.loads(r["result"]) if r["result"] else {}
    step_rows = {s["step_index"]: s for s in ws.store.query("SELECT * FROM steps WHERE run_id = ?", (run_id,))}
    status = _effective_status(run_id, r["status"], params, r["kind"])
    # a step that never started is `pending` while the run may still reach it, `not_run` once the
    # run is over — the same word `tt run`'s result uses for it
    unstarted = "pending" if status == "running" else "not_run"
    steps = []
    for p in params.get("plan", []):
        s = step_rows.get(p["index"])
        outcome = json.loads(s["outcome"]) if s is not None and s["outcome"] else {}
        steps.append({"index": p["index"], "key": p["key"], "id": p.get("id"), "type": p["type"],
                      "agent": p.get("agent"), "fail_mode": p.get("fail_mode"),
                      "status": s["status"] if s is not None else unstarted,
                      "attempt": s["attempt"] if s is not None else 0,
                      "started_at": s["started_at"] if s is not None else None,
                      "finished_at": s["finished_at"] if s is not None else None,
                      "duration_ms": outcome.get("duration_ms"), "message": outcome.get("message", ""),
                      "exit_code": outcome.get("exit_code"), "log_path": outcome.get("log_path"),
                      "side_effects": outcome.get("side_effects", {})})
    children = [c["run_id"] for c in ws.store.query(
        "SELECT run_id FROM runs WHERE json_extract(params, '$.parent_run_id') = ? ORDER BY started_at", (run_id,))]
    if status in RESUMABLE:
        next_action = f"tt run --resume {run_id}"
    elif status == "running":
        next_action = f"tt runs cancel {run_id}"
    else:
        next_action = None
    return {"run_id": run_id, "kind": r["kind"], "workflow": r["workflow"], "origin": r["origin"], "status": status,
            "strict": bool(r["strict"]), "agent_scope": r["agent_scope"], "started_at": r["started_at"],
            "finished_at": r["finished_at"], "duration_ms": _duration_ms(r["started_at"], r["finished_at"]),
            "parent_run_id": params.get("parent_run_id"), "children": children, "resumes": params.get("resumes", 0),
            "failed_steps": result.get("failed_steps", []), "warning_count": result.get("warning_count", 0),
            "error": result.get("error"), "hooks": result.get("hooks", []), "cost_usd": r["cost_usd"],
            "input_tokens": r["input_tokens"], "output_tokens": r["output_tokens"], "steps": steps,
            "next_action": next_action}


def cancel_run(ws: Workspace, run_id: str) -> bool:
    """Ask a running run to stop (running commands' process groups are killed). True if asked."""
    import json

    from tutti.workflows.engine import active_engine, cancel_marker

    engine = active_engine(run_id)
    if engine is not None and engine.ws.root == ws.root:
        engine.cancel.set()
        return True
    run = get_run(ws, run_id)
    if run["status"] != "running":
        return False
    if ws.config.engine.kind == "temporal" and json.loads(ws.store.query(
            "SELECT params FROM runs WHERE run_id = ?", (run_id,))[0]["params"] or "{}").get("engine") == "temporal":
        from tutti.distributed.run import cancel

        return cancel(ws, run_id)  # Temporal cancel: running activities are cancelled, the run records it
    marker = cancel_marker(ws, run_id)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(now_iso() + "\n", encoding="utf-8")
    return True


def _duration_ms(started: str | None, finished: str | None) -> int | None:
    if not started or not finished:
        return None
    from datetime import datetime

    def parse(ts: str) -> datetime:
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))

    return int((parse(finished) - parse(started)).total_seconds() * 1000)
