"""What agent-driving steps share: start an agent and wait until it is REALLY ready, deliver a
prompt with evidence it was taken, wait for it to settle, and reclaim sessions a run started.

Not a step type (the registry maps types to `prompt`, `ensure_running`, `review`, `land`).

Reclaim: the first time an agent-driving step of a run touches an agent, it registers a
run-end callback (`ctx.at_run_end`, called by the engine once the run's steps are over) that
stops every non-persistent agent the run started through `lifecycle.agents.down` — firing the
`agent_stop` hooks. Which agents a run started is recorded as `workflow.agent_started` events,
so a resumed run also reclaims the agents its crashed attempt started.
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
_launch_lock = threading.Lock()
_armed: set[str] = set()  # run ids whose run-end reclaim is registered


def backend():
    from tutti.sessions.backend import default_backend

    return default_backend()


def is_running(ctx: StepContext, agent: str) -> bool:
    pane = backend().pane(ctx.workspace.session_name(agent))
    return pane is not None and not pane.dead


def adapter(ctx: StepContext, agent: str):
    from tutti.runtimes.registry import adapter_for

    return adapter_for(ctx.workspace, agent)


def ensure_agent(ctx: StepContext, agent: str, *, ready_timeout: float = READY_TIMEOUT_SECS) -> bool:
    """Start `agent` unless running and wait until it is idle and stable. True if started here."""
    from tutti.lifecycle.agents import up
    from tutti.runtimes.settle import wait_for_settle

    if ctx.workspace.config.agent(agent) is None:
        raise TuttiError(f"agent '{agent}' not found in {ctx.workspace.config_path}", hint="check the step's agent")
    _arm_reclaim(ctx)
    if is_running(ctx, agent):
        return False
    session = ctx.workspace.session_name(agent)
    try:
        # Parallel steps launch agents at once; concurrent `git worktree add` in one repository
        # races inside git ("failed to read .git/worktrees/X/commondir"), so launches are
        # serialised (the readiness waits below still overlap).
        from tutti.telemetry.context import launched_by_run

        with _launch_lock, launched_by_run(ctx.run_id):  # the agent joins the run's trace
            if not is_running(ctx, agent):
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


def deliver(ctx: StepContext, agent: str, text: str, on_pasted=None, on_paste=None) -> Delivery:
    """Paste `text` as one bracketed paste and press Enter once. Refuses a `waiting` agent: the
    prompt would answer its dialog by accident. Crash safety (`workflows/steps/delivery.py`)
    records the screen in `on_paste(screen)` just before the paste and the turn marker in
    `on_pasted(baseline)` between paste and Enter."""
    from tutti.runtimes.base import AgentState
    from tutti.runtimes.observe import classify_pane

    b, ad = backend(), adapter(ctx, agent)
    session = ctx.workspace.session_name(agent)
    det, screen = classify_pane(b, session, ad)
    if det.state is AgentState.STOPPED:
        raise AgentNotRunning(f"agent '{agent}' is not running", hint=f"tt up {agent}")
    if det.state is AgentState.WAITING:
        raise SessionError(f"agent '{agent}' is waiting for an answer ({det.detail or ', '.join(det.evidence[:2])})",
                           hint=f"answer it with `tt attach {agent}`, then resume the run")
    if on_paste is not None:
        on_paste(screen)
    b.send_text(session, text, submit=False)
    baseline = b.capture(session)
    if on_pasted is not None:
        on_pasted(baseline)
    delay = ad.submit_delay_secs()
    if delay > 0:
        time.sleep(delay)
    return submit(ctx, agent, baseline, chars=len(text), text=text)


def submit(ctx: StepContext, agent: str, baseline: str, *, chars: int, text: str | None = None) -> Delivery:
    """Press Enter on a pasted prompt and record `agent.prompt_sent` (with the prompt's opening,
    which a handoff packet shows as the agent's active task)."""
    session = ctx.workspace.session_name(agent)
    backend().send_keys(session, "Enter")
    data = {"chars": chars, "source": "workflow"} | ({"text": text[:1000]} if text else {})
    ctx.workspace.store.append_event("agent.prompt_sent", agent=agent, run_id=ctx.run_id, data=data)
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
def _arm_reclaim(ctx: StepContext) -> None:
    """Register the run-end reclaim once per run."""
    with _reclaim_lock:
        if ctx.run_id in _armed:
            return
        _armed.add(ctx.run_id)
    ws, run_id = ctx.workspace, ctx.run_id

    def at_end() -> None:
        with _reclaim_lock:
            _armed.discard(run_id)
        reclaim(ws, run_id, started_by_run(ws, run_id))

    ctx.at_run_end(at_end)


def _register_started(ctx: StepContext, agent: str) -> None:
    ctx.workspace.store.append_event("workflow.agent_started", agent=agent, run_id=ctx.run_id,
                                     data={"workflow": ctx.workflow})


def started_by_run(ws, run_id: str) -> set[str]:
    rows = ws.store.query("SELECT DISTINCT agent FROM events WHERE kind = 'workflow.agent_started' AND run_id = ?",
                          (run_id,))
    return {r["agent"] for r in rows if r["agent"]}


def reclaim(ws, run_id: str, agents: set[str]) -> list[str]:
    """Stop the non-persistent agents among `agents` (fires `agent_stop` hooks, as `tt down`)."""
    from tutti.lifecycle.agents import down
    from tutti.workflows.engine import fire_agent_stop

    stopped = []
    for agent in sorted(agents):
        cfg = ws.config.agent(agent)
        if cfg is None or cfg.persistent:
            continue
        try:
            down(ws, agent, on_stopped=lambda name: _hook_failures(fire_agent_stop(ws, name)))
            stopped.append(agent)
            ws.store.append_event("workflow.agent_reclaimed", agent=agent, run_id=run_id, data={})
        except Exception as exc:  # noqa: BLE001 - reclaim is best effort; record why it failed
            ws.store.append_event("workflow.agent_reclaim_failed", agent=agent, run_id=run_id, data={"error": str(exc)})
    return stopped


def _hook_failures(results: list) -> list[str]:
    """As `ops.agents` reports a stopped agent's `agent_stop` hooks that failed closed."""
    return [r.message for r in results if getattr(r, "failed_closed", False)]
