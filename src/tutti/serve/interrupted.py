"""Runs in flight when `tt serve` stops: interrupted on the way out, resumed on the way in.

On SIGTERM (or Ctrl-C) uvicorn stops taking requests and runs the app's shutdown; there every
workflow run this process is executing is marked `interrupted` — its row and a
`workflow.interrupted` event in one transaction — and the process then exits at once (`exit_now`)
instead of waiting for steps that may take an hour. Nothing is lost: command steps keep running
under their step supervisors and record their outcome themselves; prompt steps re-attach to the
agent's turn on resume.

On start, `tt serve` resumes (in the background) the top-level runs of each workspace that a
previous `tt serve` left behind: those it marked `interrupted`, and those still `running` whose
process — recorded by a `serve.started` event, pid *and* start time — is gone (a SIGKILLed
server). Runs of `tt run` are never resumed by the server: `tt run --resume RUN_ID` does that.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

from tutti import proctree
from tutti.store.db import now_iso

if TYPE_CHECKING:
    from tutti.workspace import Workspace

REASON = "serve_shutdown"


def announce(ws: Workspace) -> None:
    """Record this server process (so a later server knows which dead runs were a server's)."""
    pid = os.getpid()
    ws.store.append_event("serve.started", data={"pid": pid, "pid_started": proctree.start_ticks(pid)})


def interrupt_active(workspaces: list[Workspace]) -> list[str]:
    """Mark every run this process is executing `interrupted`; returns their ids."""
    from tutti.workflows import engine

    with engine._ACTIVE_LOCK:
        active = list(engine._ACTIVE.values())
    roots = {str(ws.root): ws for ws in workspaces}
    done = []
    for eng in active:
        ws = roots.get(str(eng.ws.root), eng.ws)
        with ws.store.transaction() as conn:
            changed = conn.execute("UPDATE runs SET status = 'interrupted' WHERE run_id = ? AND status = 'running'",
                                   (eng.run_id,)).rowcount
            if changed:
                ws.store.append_event("workflow.interrupted", run_id=eng.run_id, conn=conn,
                                      data={"reason": REASON, "workflow_name": eng.plan.workflow,
                                            "resume": "automatic on the next tt serve, or tt run --resume"})
        if changed:
            done.append(eng.run_id)
    return done


def exit_now(code: int = 0) -> None:
    """Leave without joining step threads (they may wait on agents for an hour): the store is
    already consistent, supervisors and agents live on. Flushes our own streams first."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def exit_if_runs_active() -> None:
    from tutti.workflows import engine

    with engine._ACTIVE_LOCK:
        busy = bool(engine._ACTIVE)
    if busy:
        exit_now()


def _server_pids(ws: Workspace) -> set[tuple[int, int | None]]:
    rows = ws.store.query("SELECT data FROM events WHERE kind = 'serve.started'")
    out = set()
    for r in rows:
        data = json.loads(r["data"] or "{}")
        if data.get("pid"):
            out.add((data["pid"], data.get("pid_started")))
    return out


def left_behind(ws: Workspace) -> list[str]:
    """Top-level runs a previous `tt serve` of this workspace left unfinished (oldest first)."""
    from tutti.workflows.checkpoints import pid_alive

    servers = _server_pids(ws)
    out = []
    for r in ws.store.query("SELECT run_id, status, params FROM runs WHERE kind = 'workflow' "
                            "AND status IN ('interrupted', 'running') ORDER BY started_at"):
        params: dict[str, Any] = json.loads(r["params"] or "{}")
        if params.get("parent_run_id"):
            continue  # a nested run resumes with its parent
        pid, started = params.get("pid"), params.get("pid_started")
        if (pid, started) not in servers or pid == os.getpid():
            continue
        if r["status"] == "running" and pid_alive(pid, started):
            continue  # that server is still up
        out.append(r["run_id"])
    return out


def resume_left_behind(workspaces: list[Workspace]) -> dict[str, list[str]]:
    """Start resuming, in the background, every run `left_behind` in each workspace."""
    from tutti.errors import TuttiError
    from tutti.ops.run import start_run

    resumed: dict[str, list[str]] = {}
    for ws in workspaces:
        for run_id in left_behind(ws):
            try:
                start_run(ws, None, resume=run_id)
            except TuttiError as exc:  # e.g. the workflow changed since: say so, keep serving
                ws.store.append_event("serve.resume_failed", run_id=run_id, data={"error": exc.message})
                continue
            ws.store.append_event("serve.resumed", run_id=run_id, data={"at": now_iso()})
            resumed.setdefault(ws.name, []).append(run_id)
    return resumed
