"""What agent-driving steps share: start an agent and wait until it is REALLY ready, deliver a
prompt with evidence it was taken, wait for it to settle, and reclaim sessions a run started.

Not a step type (the registry maps types to `prompt`, `ensure_running`, `review`, `land`).

Reclaim: the engine has no run-end hook for executors, so the first time a run starts an agent
a (non-daemon) reclaimer thread is started that waits until the run is no longer active
(`engine.active_engine(run_id) is None`) and then stops every non-persistent agent the run
started through `ops.agents.down` — which fires the `agent_stop` hooks. Being non-daemon, the
thread finishes before a `tt run` process exits. Agents started by a previous attempt of a
resumed run are found through their `workflow.agent_started` events.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tutti.errors import AgentNotRunning, ProviderError, SessionError, TuttiError

if TYPE_CHECKING:
    from tutti.workflows.steps import StepContext

READY_TIMEOUT_SECS = 60.0
READY_STABLE_SECS = 1.0
IDLE_STABLE_SECS = 3.0

_reclaim_lock = threading.Lock()
_reclaimers: dict[str, set[str]] = {}  # run_id -> agents this run started


def backend():
    from tutti.sessions.backend import default_backend

    return default_backend()


def is_running(ctx: StepContext, agent: str) -> bool:
    pane = backend().pane(ctx.workspace.session_name(agent))
    return pane is not None and not pane.dead


def adapter(ctx: StepContext, agent: str):
    from tutti.sessions.watcher import adapter_for

    return adapter_for(ctx.workspace, agent)


def ensure_agent(ctx: StepContext, agent: str, *, ready_timeout: float = READY_TIMEOUT_SECS) -> bool:
    """Start `agent` unless running and wait until it is idle and stable. True if started here."""
    from tutti.ops.agents import up
    from tutti.sessions.settle import wait_for_settle

    if ctx.workspace.config.agent(agent) is None:
        raise TuttiError(f"agent '{agent}' not found in {ctx.workspace.config_path}", hint="check the step's agent")
    if is_running(ctx, agent):
        return False
    session = ctx.workspace.session_name(agent)
    try:
        up(ctx.workspace, agent)
    except TuttiError as exc:
        raise SessionError(f"target session is not running and auto-start failed: {session} ({exc.message})",
                           hint=exc.hint) from None
    _register_started(ctx, agent)
    ready = wait_for_settle(backend(), session, adapter(ctx, agent), timeout_secs=ready_timeout,
                            idle_stable_secs=READY_STABLE_SECS, require_activity=False, cancel=ctx.cancel)
    if not ready.completed:
        raise SessionError(f"agent '{agent}' did not become ready after start ({ready.outcome}, state {ready.state}"
                           + (f": {ready.detail}" if ready.detail else "") + ")",
                           hint=f"inspect it with `tt peek {agent}`")
    return True


@dataclass
class Delivery:
    session: str
    baseline: str
    sent_at: float


def deliver(ctx: StepContext, agent: str, text: str) -> Delivery:
    """Paste `text` as one bracketed paste and press Enter once. Refuses a `waiting` agent: the
    prompt would answer its dialog by accident."""
    from tutti.runtimes.base import AgentState
    from tutti.sessions.watcher import classify_pane

    b, ad = backend(), adapter(ctx, agent)
    session = ctx.workspace.session_name(agent)
    det, _ = classify_pane(b, session, ad)
    if det.state is AgentState.STOPPED:
        raise AgentNotRunning(f"agent '{agent}' is not running", hint=f"tt up {agent}")
    if det.state is AgentState.WAITING:
        raise SessionError(f"agent '{agent}' is waiting for an answer ({det.detail or ', '.join(det.evidence[:2])})",
                           hint=f"answer it with `tt attach {agent}`, then resume the run")
    b.send_text(session, text, submit=False)
    baseline = b.capture(session)
    delay = ad.submit_delay_secs()
    if delay > 0:
        time.sleep(delay)
    b.send_keys(session, "Enter")
    ctx.workspace.store.append_event("agent.prompt_sent", agent=agent, run_id=ctx.run_id,
                                     data={"chars": len(text), "source": "workflow"})
    return Delivery(session, baseline, time.monotonic())


def settle_error(agent: str, outcome: str, detail: str | None, during: str) -> TuttiError:
    if outcome in ("auth_failed", "rate_limited", "provider_down"):
        return ProviderError(f"{during} {outcome}: {detail or ''}".rstrip(": "), hint=f"tt peek {agent}")
    if outcome == "waiting":
        return SessionError(f"{during} blocked: agent '{agent}' waits for an answer ({detail or 'dialog'})",
                            hint=f"answer it with `tt attach {agent}`, then `tt run --resume`")
    if outcome == "stopped":
        return AgentNotRunning(f"{during} failed: target session exited", hint=f"tt peek {agent}; tt up {agent}")
    if outcome == "cancelled":
        return TuttiError(f"{during} cancelled")
    return SessionError(f"{during} {outcome}", hint=f"tt peek {agent}")


# -- reclaim ---------------------------------------------------------------------------------
def _register_started(ctx: StepContext, agent: str) -> None:
    ctx.workspace.store.append_event("workflow.agent_started", agent=agent, run_id=ctx.run_id,
                                     data={"workflow": ctx.workflow})
    with _reclaim_lock:
        agents = _reclaimers.get(ctx.run_id)
        if agents is not None:
            agents.add(agent)
            return
        _reclaimers[ctx.run_id] = {agent}
    threading.Thread(target=_reclaim_when_done, args=(ctx.workspace, ctx.run_id), name=f"reclaim-{ctx.run_id}",
                     daemon=False).start()


def started_by_run(ws, run_id: str) -> set[str]:
    rows = ws.store.query("SELECT DISTINCT agent FROM events WHERE kind = 'workflow.agent_started' AND run_id = ?",
                          (run_id,))
    return {r["agent"] for r in rows if r["agent"]}


def _reclaim_when_done(ws, run_id: str) -> None:
    from tutti.workflows.engine import active_engine

    # Wait for the run to end (the engine drops it from the active table in a `finally`).
    time.sleep(0.2)
    while active_engine(run_id) is not None:
        time.sleep(0.2)
    with _reclaim_lock:
        agents = _reclaimers.pop(run_id, set())
    reclaim(ws, run_id, agents | started_by_run(ws, run_id))


def reclaim(ws, run_id: str, agents: set[str]) -> list[str]:
    """Stop the non-persistent agents among `agents` (fires `agent_stop` hooks)."""
    from tutti.ops.agents import down

    stopped = []
    for agent in sorted(agents):
        cfg = ws.config.agent(agent)
        if cfg is None or cfg.persistent:
            continue
        try:
            down(ws, agent)
            stopped.append(agent)
            ws.store.append_event("workflow.agent_reclaimed", agent=agent, run_id=run_id, data={})
        except Exception as exc:  # noqa: BLE001 - reclaim is best effort; record why it failed
            ws.store.append_event("workflow.agent_reclaim_failed", agent=agent, run_id=run_id, data={"error": str(exc)})
    return stopped
