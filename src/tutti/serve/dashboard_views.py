"""The dashboard's server-side half: the first paint and a step's log.

- `first_paint(ctx)`: index.html with the first workspace's stations (state, current task,
  context bar) and recent runs already in the markup, plus the same data as JSON for app.js —
  so a screenshot (or a slow network, or a proxy that buffers SSE) shows the floor at once;
  app.js then takes over and the live stream keeps it current.
- `GET /v1/runs/{run_id}/steps/{index}/log`: the tail of one step's log file, for the run view.
  The path comes from the store, and is served only when it lies inside the workspace.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Query, Request

from tutti.errors import NotFoundError
from tutti.serve.context import check_id
from tutti.serve.envelope import ok
from tutti.serve.operations import operation
from tutti.serve.reads import WorkspaceQ, act, ctx_of

if TYPE_CHECKING:
    from tutti.serve.context import ServeContext
    from tutti.workspace import Workspace

router = APIRouter(prefix="/v1", tags=["read"])
LOG_MAX_BYTES = 64 * 1024
BLOCKED = {"auth_failed", "rate_limited", "provider_down", "waiting"}
WARNING = {"stuck", "recovering", "unknown", "launch_failed"}


@router.get("/runs/{run_id}/steps/{index}/log", dependencies=[act("runs.step_log")])
def step_log(request: Request, run_id: str, index: int, workspace: str | None = WorkspaceQ,
             lines: int = Query(80, ge=1, le=2000)):
    check_id("run_id", run_id)
    for ws in ctx_of(request).selected(workspace):
        if not ws.store.query("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)):
            continue
        run = operation("run", "get_run")(ws, run_id)
        step = next((s for s in run["steps"] if s["index"] == index), None)
        if step is None:
            raise NotFoundError(f"run '{run_id}' has no step {index}", hint=f"GET /v1/runs/{run_id} lists its steps")
        return ok("runs.step_log", {"workspace": ws.name, "run_id": run_id, "index": index, "status": step["status"],
                                    "message": step["message"], "exit_code": step["exit_code"],
                                    "log_path": step["log_path"], "log": _tail(ws, step["log_path"], lines)})
    raise NotFoundError(f"run '{run_id}' not found", hint="list runs with GET /v1/runs")


def _tail(ws: Workspace, log_path: str | None, lines: int) -> str | None:
    from tutti.paths import inside

    if not log_path:
        return None
    path = Path(log_path)
    path = path if path.is_absolute() else ws.root / path
    if not inside(ws.root, path) or not path.is_file():
        return None
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - LOG_MAX_BYTES))
        text = fh.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


# -- first paint ---------------------------------------------------------------------------------
def initial_data(ws: Workspace) -> dict[str, Any]:
    from tutti.serve import agents_view
    from tutti.sessions import agent_state

    tasks = {r["agent"]: json.loads(r["data"] or "{}").get("text") for r in ws.store.query(
        "SELECT agent, data FROM events WHERE seq IN (SELECT MAX(seq) FROM events WHERE kind = 'agent.prompt_sent' "
        "GROUP BY agent)")}
    agents = []
    for row in agents_view.agents(ws):
        saved = agent_state.read_state(ws.state_dir, row["agent"]) or {}
        ctx = row.get("context_pct")
        ctx = ctx if ctx is not None else saved.get("context_used_pct")
        agents.append({**row, "task": tasks.get(row["agent"]), "context_pct": ctx})
    try:
        runs = operation("run", "list_runs")(ws, limit=10)
    except Exception:  # noqa: BLE001 — the first paint is a courtesy: app.js loads runs again
        runs = []
    return {"workspace": ws.name, "agents": agents, "runs": runs}


def _color(state: str) -> str:
    if state == "working":
        return "working"
    if state in BLOCKED:
        return "blocked"
    return "warning" if state in WARNING else "idle"


def _station(a: dict[str, Any]) -> str:
    e = html.escape
    name, state = str(a["agent"]), str(a["state"])
    ctx = a.get("context_pct")
    width = "0" if ctx is None else f"{min(100.0, float(ctx)):.0f}%"
    level = "green" if ctx is None or ctx <= 70 else "amber" if ctx <= 90 else "red"
    meta = " · ".join(x for x in (a.get("runtime"), a.get("role"), a.get("host") and f"on {a['host']}") if x) or "agent"
    task = " ".join(str(a.get("task") or "").split())
    return (f'<button class="station" data-testid="station-{e(name)}" data-agent="{e(name)}" data-state="{e(state)}" '
            f'data-host="{e(a.get("host") or "")}" '
            f'data-color="{_color(state)}"><div class="name">{e(name)}</div><div class="meta">{e(meta)}</div>'
            f'<div class="state"><span class="lamp"></span><span data-testid="station-state-{e(name)}">'
            f'{e(state.replace("_", " "))}</span></div>'
            f'<div class="task" data-testid="station-task-{e(name)}" title="{e(task)}">{e(task[:140]) or "—"}</div>'
            f'<div class="ctx mini"><div class="bar"><div class="fill" data-level="{level}" style="width:{width}" '
            f'data-testid="station-ctx-{e(name)}"></div></div></div></button>')


def _run(r: dict[str, Any]) -> str:
    e = html.escape
    rid = str(r["run_id"])
    return (f'<li data-testid="run-{e(rid)}"><div><strong>{e(str(r.get("workflow") or "run"))}</strong> '
            f'<span class="status" data-status="{e(str(r["status"]))}" data-testid="run-status-{e(rid)}">'
            f'{e(str(r["status"]))}</span></div><div class="muted" data-testid="run-progress-{e(rid)}">'
            f'{r.get("steps_done", 0)}/{r.get("steps_total", 0)} steps · {e(rid)}</div></li>')


def first_paint(ctx: ServeContext, page: str) -> str:
    """index.html with the stations and runs of the first workspace filled in."""
    names = sorted(ctx.workspaces)
    if not names:
        return page
    data = initial_data(ctx.workspaces[names[0]])
    floor = "".join(_station(a) for a in data["agents"])
    runs = "".join(_run(r) for r in data["runs"])
    page = page.replace('<div class="floor" data-testid="floor"></div>',
                        f'<div class="floor" data-testid="floor" data-ssr="true">{floor}</div>', 1)
    page = page.replace('<ul class="runs" data-testid="runs"></ul>', f'<ul class="runs" data-testid="runs">{runs}</ul>', 1)
    blob = json.dumps(data, default=str).replace("</", "<\\/")
    return page.replace("<script src=\"/static/app.js\"></script>",
                        f'<script id="tutti-initial" type="application/json">{blob}</script>\n'
                        '  <script src="/static/app.js"></script>', 1)
