"""`tt status` / `tt detect`: the live classification of agents (inventory §1), read-only.

Apart from `ops.agents` (launching and stopping) so that `tt status` loads none of the launch
machinery (worktrees, the store, the pydantic models): with a warm validated-config cache the
workspace's config is a read-only view (`tutti.config.view`) and nothing here needs more.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from tutti.errors import ForeignSession, TuttiError
from tutti.runtimes.base import AgentState
from tutti.runtimes.observe import classify_pane, classify_snapshot
from tutti.runtimes.registry import adapter_for
from tutti.sessions import agent_state
from tutti.sessions.backend import SessionBackend, default_backend
from tutti.sessions.naming import foreign_root
from tutti.workspace import Workspace, find_agent

if TYPE_CHECKING:
    from tutti.config.models import Agent


@dataclass
class AgentStatus:
    workspace: str
    agent: str
    runtime: str | None
    session: str
    running: bool
    state: str
    status: str
    confidence: float
    evidence: list[str]
    detail: str | None
    workdir: str | None
    branch: str | None
    context_used_pct: float | None = None
    usage: dict[str, Any] | None = None  # token usage from the runtime's own logs (ops.usage)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def agent_status(ws: Workspace, cfg: Agent, backend: SessionBackend,
                 snapshot: tuple[Any, str] | None = None) -> AgentStatus:
    """`snapshot`: the (pane, screen) already read for this agent's session (see `status`)."""
    session = ws.session_name(cfg.name)
    runtime = ws.config.resolved_runtime(cfg)
    saved = agent_state.read_state(ws.state_dir, cfg.name) or {}
    try:
        pane = snapshot[0] if snapshot is not None else backend.pane(session)
        other = foreign_root(session, pane.root) if pane is not None else None
    except ForeignSession as exc:
        pane, other = None, exc.owner
    if other:  # same [workspace] name in another folder: that agent is not ours to report
        return AgentStatus(workspace=ws.name, agent=cfg.name, runtime=runtime, session=session, running=False,
                           state=AgentState.STOPPED.value, status="Stopped", confidence=1.0,
                           evidence=[f"session belongs to {other}"], workdir=None, branch=saved.get("branch"),
                           detail=f"tmux session {session} was launched by {other}; rename [workspace] name in one of them")
    common = {"workspace": ws.name, "agent": cfg.name, "runtime": runtime, "session": session,
              "workdir": saved.get("worktree_path") or (str(ws.root) if pane else None), "branch": saved.get("branch")}
    if pane is None:
        return AgentStatus(running=False, state=AgentState.STOPPED.value, status="Stopped", confidence=1.0,
                           evidence=["session:absent"], detail=None, **common)
    try:
        adapter = adapter_for(ws, cfg.name)
    except TuttiError as exc:  # one misconfigured agent must not hide the others' status
        return AgentStatus(running=not pane.dead, state=AgentState.UNKNOWN.value, status="Unknown", confidence=0.0,
                           evidence=["adapter:error"], detail=exc.message, **common)
    if snapshot is None:
        det, _screen = classify_pane(backend, session, adapter)
    else:
        if hasattr(adapter, "know_pane_pid"):
            adapter.know_pane_pid(pane.pid)  # structured signals: no tmux call for the pid
        det = classify_snapshot(pane, snapshot[1], adapter)
    return AgentStatus(running=not pane.dead, state=det.state.value,
                       status=agent_state.status_string(det.state, det.detail), confidence=round(det.confidence, 3),
                       evidence=list(det.evidence), detail=det.detail, context_used_pct=det.context_used_pct, **common)


def status(ws: Workspace, *, backend: SessionBackend | None = None) -> list[AgentStatus]:
    """Live classification of every agent (read-only: no events, no files written)."""
    backend = backend or default_backend()
    agents = list(ws.config.agents)
    sessions = [ws.session_name(cfg.name) for cfg in agents]
    # Every session's pane and screen in one or two tmux calls instead of three per agent (the
    # same classification: the same screens through the same adapters). The tmux round trip
    # runs in a thread while this one reads the usage figures, which do not depend on it.
    many = getattr(backend, "snapshots", None)
    reading = _Background(many, sessions) if many is not None else None
    figures = _usage(ws)
    snaps = reading.result() if reading is not None else {}
    rows = [agent_status(ws, cfg, backend, snaps.get(session)) for cfg, session in zip(agents, sessions)]
    for row in rows:
        row.usage = figures.get(row.agent)
    return rows


def _usage(ws: Workspace) -> dict[str, dict[str, Any]]:
    try:
        from tutti.ops.usage import usage_by_agent

        return usage_by_agent(ws)  # one incremental log scan for all agents
    except (TuttiError, OSError):
        return {}  # usage is extra information: never fail the status table over it


class _Background:
    """`fn(*args)` in a thread; `result()` waits and returns it (or raises what it raised)."""

    def __init__(self, fn: Any, *args: Any) -> None:
        import threading

        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, args), daemon=True)
        self._thread.start()

    def _run(self, fn: Any, args: tuple) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by result()
            self._error = exc

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def detect(ws: Workspace, agent: str, *, lines: int = 200, backend: SessionBackend | None = None) -> dict[str, Any]:
    """Detector diagnostics (the original's stable JSON fields, plus `state` and `evidence`)."""
    backend = backend or default_backend()
    cfg = find_agent(ws, agent)
    st = agent_status(ws, cfg, backend)

    def match(state: AgentState) -> str | None:
        return (st.detail or next((e for e in st.evidence if e.startswith(state.value)), None)) if st.state == state.value else None

    return {
        "workspace": ws.name, "agent": cfg.name, "runtime": st.runtime, "session": st.session,
        "status": st.status, "state": st.state, "running": st.running, "confidence": st.confidence,
        "matched_patterns": st.evidence, "evidence": st.evidence, "detail": st.detail,
        "auth_match": match(AgentState.AUTH_FAILED), "rate_limit_match": match(AgentState.RATE_LIMITED),
        "provider_down_match": match(AgentState.PROVIDER_DOWN),
        "completion_match": next((e for e in st.evidence if e.startswith(("idle", "completion"))), None)
        if st.state == AgentState.IDLE.value else None,
        "lines": lines,
    }
