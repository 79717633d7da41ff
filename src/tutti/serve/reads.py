"""Read endpoints (GET, inventory §4.3). Each reads the store, config or state files; none mutate.

Every list aggregates all served workspaces unless `?workspace=` names one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from tutti.errors import NotFoundError, UsageError
from tutti.serve import agents_view
from tutti.serve.context import ServeContext, check_id
from tutti.serve.envelope import ok, plain
from tutti.serve.operations import operation
from tutti.serve.sse import parse_cursor

router = APIRouter(prefix="/v1", tags=["read"])


def ctx_of(request: Request) -> ServeContext:
    return request.app.state.ctx


def act(name: str, kind: str = "read"):
    """Names the envelope's `action` before anything (even validation) can fail."""

    def dependency(request: Request) -> None:
        request.state.action = name
        request.state.kind = kind

    return Depends(dependency)


WorkspaceQ = Query(None, description="workspace name; default: all served (lists) or the only one")


@router.get("/health", dependencies=[act("health.list")])
def health_list(request: Request, workspace: str | None = WorkspaceQ):
    records = [record for ws in ctx_of(request).selected(workspace) for a in ws.config.agents
               if (record := agents_view.health(ws, a.name)) is not None]
    records.sort(key=lambda r: (str(r.get("workspace")), str(r.get("agent"))))
    return ok("health.list", records)


@router.get("/health/{workspace}/{agent}", dependencies=[act("health.get")])
def health_get(request: Request, workspace: str, agent: str):
    ctx = ctx_of(request)
    ws = ctx.workspace(workspace)
    ctx.agent(ws, agent)
    record = agents_view.health(ws, agent)
    if record is None:
        raise NotFoundError(f"no health record for agent '{agent}' yet", hint="start it with `tt up` or wait for a probe")
    return ok("health.get", record)


@router.get("/agents", dependencies=[act("agents.list")])
def agents_list(request: Request, workspace: str | None = WorkspaceQ):
    rows = [row for ws in ctx_of(request).selected(workspace) for row in agents_view.agents(ws)]
    return ok("agents.list", rows)


@router.get("/status", dependencies=[act("status.list")])
def status_list(request: Request, workspace: str | None = WorkspaceQ):
    return ok("status.list", _status(request, workspace))


@router.get("/voices", dependencies=[act("status.list")])
def voices_list(request: Request, workspace: str | None = WorkspaceQ):
    return ok("status.list", _status(request, workspace))


def _status(request: Request, workspace: str | None) -> list[Any]:
    status = operation("agents", "status")
    rows: list[Any] = []
    for ws in ctx_of(request).selected(workspace):
        result = status(ws)
        rows.extend(result if isinstance(result, list) else [result])
    return rows


@router.get("/workflows", dependencies=[act("workflows.list")])
def workflows_list(request: Request, workspace: str | None = WorkspaceQ):
    rows = [row for ws in ctx_of(request).selected(workspace) for row in agents_view.workflows(ws)]
    return ok("workflows.list", rows)


@router.get("/runs", dependencies=[act("runs.list")])
def runs_list(request: Request, workspace: str | None = WorkspaceQ,
              limit: int = Query(50, ge=1, le=1000), workflow: str | None = None):
    list_runs = operation("run", "list_runs")
    rows = []
    for ws in ctx_of(request).selected(workspace):
        rows.extend({**row, "workspace": ws.name} for row in list_runs(ws, limit=limit, workflow=workflow))
    rows.sort(key=lambda r: r.get("started_at") or "", reverse=True)
    return ok("runs.list", rows[:limit])


@router.get("/runs/{run_id}", dependencies=[act("runs.get")])
def runs_get(request: Request, run_id: str, workspace: str | None = WorkspaceQ):
    check_id("run_id", run_id)
    for ws in ctx_of(request).selected(workspace):
        if ws.store.query("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)):
            return ok("runs.get", {**operation("run", "get_run")(ws, run_id), "workspace": ws.name})
    raise NotFoundError(f"run '{run_id}' not found", hint="list runs with GET /v1/runs")


@router.get("/ops", dependencies=[act("ops.list")])
def ops_list(request: Request, workspace: str | None = WorkspaceQ, limit: int = Query(100, ge=1, le=1000)):
    """The audit trail of actions executed through this API (events `api.action`), newest first."""
    rows = []
    for ws in ctx_of(request).selected(workspace):
        rows.extend(e.to_dict() for e in _newest(ws, "api.action", limit))
    rows.sort(key=lambda e: e["ts"], reverse=True)
    return ok("ops.list", rows[:limit])


@router.get("/approvals", dependencies=[act("approvals.list")])
def approvals_list(request: Request, workspace: str | None = WorkspaceQ, run_id: str | None = None):
    """Tool calls of API-direct runs waiting for a human (decide with POST /v1/actions/approve)."""
    pending = operation("direct", "pending_approvals")
    rows = []
    for ws in ctx_of(request).selected(workspace):
        rows.extend({**plain(a), "workspace": ws.name} for a in pending(ws, check_id("run_id", run_id) if run_id else None))
    return ok("approvals.list", rows)


@router.get("/loop", dependencies=[act("loop.list")])
def loop_list(request: Request, workspace: str | None = WorkspaceQ):
    """Each workspace's SDLC loop: running in this server or not, and the claim leases held now."""
    status = operation("loop", "loop_status")
    return ok("loop.list", [{"workspace": ws.name, **status(ws)} for ws in ctx_of(request).selected(workspace)])


@router.get("/logs", dependencies=[act("logs.list")])
def logs_list(request: Request, workspace: str | None = WorkspaceQ):
    rows = []
    for ws in ctx_of(request).selected(workspace):
        rows.extend(_files(ws.name, ws.tutti_dir / "logs", "*.log"))
    return ok("logs.list", rows)


@router.get("/handoffs", dependencies=[act("handoffs.list")])
def handoffs_list(request: Request, workspace: str | None = WorkspaceQ):
    rows = []
    for ws in ctx_of(request).selected(workspace):
        # Longest agent name first, so `api-gateway-handoff-…` is not filed under `api`.
        names = sorted((a.name for a in ws.config.agents), key=len, reverse=True)
        for row in _files(ws.name, ws.tutti_dir / "handoffs", "*.md"):
            row["agent"] = next((n for n in names if row["file"].startswith(f"{n}-handoff-")
                                 or row["file"].startswith(f"{n}-emergency-")), None)
            rows.append(row)
    return ok("handoffs.list", rows)


@router.get("/policy-decisions", dependencies=[act("policy_decisions.list")])
def policy_decisions(request: Request, workspace: str | None = WorkspaceQ,
                     limit: int = Query(200, ge=1, le=5000)):
    rows: list[dict[str, Any]] = []
    for ws in ctx_of(request).selected(workspace):
        path = ws.state_dir / "policy-decisions.jsonl"
        if path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                record = _loads(line)
                if isinstance(record, dict):
                    record.setdefault("workspace", ws.name)
                    rows.append(record)
        for event in _newest(ws, "policy.", limit, prefix=True):
            rows.append({"timestamp": event.ts, "workspace": ws.name, "agent": event.agent,
                         "event": event.kind, "seq": event.seq, **event.data})
    rows.sort(key=lambda r: str(r.get("timestamp", "")), reverse=True)
    return ok("policy_decisions.list", rows[:limit])


@router.get("/events", dependencies=[act("events.list")])
def events_list(request: Request, workspace: str | None = WorkspaceQ,
                cursor: str | None = Query(None, description="last seen seq, or an RFC3339 time"),
                limit: int = Query(100, ge=1, le=1000),
                kinds: str | None = Query(None, description="comma-separated kinds; `agent.*` prefixes"),
                agent: str | None = None, run_id: str | None = None):
    ws = ctx_of(request).workspace(workspace)
    after = parse_cursor(cursor, ws.store) or 0
    wanted = [k for k in (kinds or "").split(",") if k]
    exact = [k for k in wanted if not k.endswith("*")]
    prefixes = [k[:-1] for k in wanted if k.endswith("*")]
    if exact and prefixes or len(prefixes) > 1:
        raise UsageError("kinds: use either exact kinds or one `prefix.*`, not both")
    events = ws.store.read_events(after, limit=limit, kinds=exact or None,
                                  kind_prefix=prefixes[0] if prefixes else None, agent=agent, run_id=run_id)
    next_cursor = events[-1].seq if events else after
    return ok("events.list", {"workspace": ws.name, "events": [e.to_dict() for e in events],
                              "next_cursor": next_cursor})


@router.get("/agents/{workspace}/{agent}/focus", dependencies=[act("agent.focus")])
def agent_focus(request: Request, workspace: str, agent: str,
                lines: int = Query(200, ge=1, le=10000), usage: bool = False, diff: bool = True):
    from tutti.serve.focus import focus

    ctx = ctx_of(request)
    ws = ctx.workspace(workspace)
    ctx.agent(ws, agent)
    return ok("agent.focus", focus(ws, agent, lines=lines, usage=usage, with_diff=diff))


# -- helpers -------------------------------------------------------------------------------
def _newest(ws, kind: str, limit: int, *, prefix: bool = False):
    cond = "kind LIKE ?" if prefix else "kind = ?"
    rows = ws.store.query(f"SELECT * FROM events WHERE {cond} ORDER BY seq DESC LIMIT ?",
                          (kind + "%" if prefix else kind, limit))
    from tutti.store import Event

    return [Event.from_row(r) for r in rows]


def _files(ws_name: str, folder: Path, pattern: str) -> list[dict[str, Any]]:
    if not folder.is_dir():
        return []
    rows = []
    for path in sorted(folder.glob(pattern)):
        st = path.stat()
        rows.append({"workspace": ws_name, "file": path.name, "path": str(path), "size_bytes": st.st_size,
                     "modified_at": datetime.fromtimestamp(st.st_mtime, UTC).isoformat()})
    return rows


def _loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
