"""Agent lifecycle use-cases: up, down, status, peek, detect, workspaces (inventory §1).

Launching and stopping are `tutti.lifecycle.agents` (shared with the workflow steps); `down`
here adds the `agent_stop` hooks. Status and detect are `tutti.ops.status` (re-exported here),
which `tt status` imports directly so it loads none of the launch machinery.

Every function takes a Workspace, returns a dataclass with `to_dict()` and raises TuttiError;
nothing here prints. The CLI (`cli/agents_cmd.py`) and the HTTP API call the same functions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tutti.lifecycle.agents import (  # noqa: F401 - re-exported: the names callers use
    LAUNCH_CHECK_SECS,
    MODES,
    POLICIES,
    DownResult,
    LaunchedAgent,
    UpResult,
    _compatible,
    _launch,
    is_running,
    launch_failure,
    launch_profiles,
    start_order,
    up,
)
from tutti.lifecycle.agents import down as _down
from tutti.ops.resolve import all_workspaces, find_agent
from tutti.ops.status import AgentStatus, agent_status, detect, status  # noqa: F401 - re-exported
from tutti.sessions.backend import SessionBackend, default_backend
from tutti.sessions.naming import live_and_ours
from tutti.workspace import Workspace


@dataclass
class WorkspaceStatus:
    name: str
    path: str
    agents: int | None
    running: int | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def down(ws: Workspace, agent: str | None = None, *, clean: bool = False,
         backend: SessionBackend | None = None) -> DownResult:
    """Stop one agent (or all, dependents first), firing its `agent_stop` hooks; `clean` also
    removes worktrees + tutti branches."""
    return _down(ws, agent, clean=clean, backend=backend, on_stopped=lambda name: _agent_stop_hooks(ws, name))


def _agent_stop_hooks(ws: Workspace, agent: str) -> list[str]:
    try:
        from tutti.workflows.engine import fire_agent_stop
    except ImportError:
        return []
    results = fire_agent_stop(ws, agent)
    return [f"{agent}: {r.message}" for r in results if getattr(r, "failed_closed", False)]


# -- peek ----------------------------------------------------------------------------------------
def peek(ws: Workspace, agent: str, lines: int = 50, *, backend: SessionBackend | None = None) -> str:
    """The agent's visible screen plus `lines` lines of scrollback."""
    backend = backend or default_backend()
    cfg = find_agent(ws, agent)
    session = ws.session_name(cfg.name)
    if cfg.provider and not ws.config.resolved_runtime(cfg):
        from tutti.errors import UsageError

        raise UsageError(f"agent '{cfg.name}' is an API-direct agent (provider '{cfg.provider}'): it has no terminal to peek at",
                         hint=f'talk to it with tt send {cfg.name} --direct "…"; see a past run with tt replay RUN_ID')
    if not backend.exists(session):
        from tutti.errors import AgentNotRunning

        raise AgentNotRunning(f"agent '{cfg.name}' is not running", hint=f"Start the agent first: tt up {cfg.name}")
    return backend.capture(session, scrollback=max(lines, 0))


# -- workspaces ---------------------------------------------------------------------------------
def workspaces(*, backend: SessionBackend | None = None) -> list[WorkspaceStatus]:
    backend = backend or default_backend()
    live = backend.panes()
    out = []
    for name, root, ws, error in all_workspaces():
        if ws is None:
            out.append(WorkspaceStatus(name, str(root), None, None, error))
            continue
        running = sum(1 for a in ws.config.agents if live_and_ours(live, ws.session_name(a.name)))
        out.append(WorkspaceStatus(name, str(root), len(ws.config.agents), running))
    return out
