"""Prompt delivery: a prompt into a running agent, optionally waiting for it to finish (§1, §5.6).

Delivery is one bracketed paste plus exactly one Enter (no blind extra Enters). With
`auto_up`, a stopped agent is launched and the prompt waits until the agent is really ready:
classified idle and stable. A `waiting` agent (dialog, approval, question) is not typed into
unless `answer=True` — otherwise the prompt would answer the dialog by accident.

It lives below `ops/` so workflow steps (a review packet to the reviewer) deliver exactly as
`tt send` (`ops.send`) does; starting a stopped agent (`auto_up`) is the `tt up` use-case, so
the caller passes it in as `start_agent(ws, agent, backend)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tutti.errors import AgentNotRunning, ProviderError, SessionError, UsageError
from tutti.runtimes.base import AgentState
from tutti.runtimes.observe import classify_pane
from tutti.runtimes.registry import adapter_for
from tutti.runtimes.settle import SettleResult, wait_for_settle
from tutti.sessions.backend import SessionBackend, default_backend
from tutti.sessions.screen import pane_delta
from tutti.workspace import Workspace, find_agent

READY_TIMEOUT_SECS = 45.0
READY_STABLE_SECS = 1.0
AgentStarter = Callable[[Workspace, str, SessionBackend], Any]  # ops.agents.up, for auto_up


@dataclass
class SendResult:
    workspace: str
    agent: str
    waited: bool
    completion_source: str | None = None
    completion_detail: str | None = None
    captured_output: str | None = None
    state: str | None = None
    auto_started: bool = False
    warnings: list[str] = field(default_factory=list)
    elapsed_secs: float | None = None
    delivery: dict[str, Any] | None = None  # how the runtime acknowledged the prompt (signals.delivery)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def context_full(evidence: list[str]) -> bool:
    """The `waiting` is a full context window (the `context_exhausted` rules), not a dialog."""
    return any(e.endswith("context_exhausted") for e in evidence)


def waiting_hint(agent: str, evidence: list[str]) -> str:
    if context_full(evidence):
        return (f"its context window is full: hand the work over (`tt handoff generate {agent}`, restart it, "
                f"`tt handoff apply {agent}`) or clear/compact it in `tt attach {agent}`")
    return f"answer the dialog with `tt attach {agent}`, or pass --answer to send this text as the answer"


def _fail(agent: str, res: SettleResult, timeout_secs: float, during: str = "send_wait_failed") -> None:
    """Turn a non-completed wait into the matching TuttiError."""
    detail = res.detail or ", ".join(res.evidence[:3]) or res.state
    if res.outcome in ("auth_failed", "rate_limited", "provider_down"):
        raise ProviderError(f"{during}: {res.outcome} (agent='{agent}', detail='{detail}')",
                            hint=f"inspect with `tt peek {agent}`; fix credentials/quota, then retry", code=res.outcome)
    if res.outcome == "waiting":
        if context_full(res.evidence):
            raise SessionError(f"{during}: waiting (agent='{agent}' has run out of context: '{detail}')",
                               hint=waiting_hint(agent, res.evidence), code="agent_waiting")
        raise SessionError(f"{during}: waiting (agent='{agent}' is blocked on a dialog or question: '{detail}')",
                           hint=f"answer it with `tt attach {agent}` or `tt send {agent} --answer ANSWER` (e.g. 1 or y)",
                           code="agent_waiting")
    if res.outcome == "stopped":
        raise AgentNotRunning(f"{during}: session_exited (agent='{agent}', detail='{detail}')",
                              hint=f"see its last screen with `tt peek {agent}`, then `tt up {agent}`")
    raise SessionError(f"{during}: idle_timeout (agent='{agent}', timeout_secs={int(timeout_secs)})",
                       hint=f"the agent is still {res.state}; check `tt peek {agent}` or raise --timeout-secs", code="idle_timeout")


def send(ws: Workspace, agent: str, prompt: str, *, auto_up: bool = False, wait: bool = False,
         timeout_secs: float = 900, idle_stable_secs: float = 5, output: bool = False, output_lines: int = 200,
         answer: bool = False, startup_grace_secs: float = 10.0, backend: SessionBackend | None = None,
         start_agent: AgentStarter | None = None) -> SendResult:
    if not prompt.strip():
        raise UsageError("prompt cannot be empty", hint=f"tt send {agent} \"what to do\"")
    backend = backend or default_backend()
    cfg = find_agent(ws, agent)
    session = ws.session_name(cfg.name)
    adapter = adapter_for(ws, cfg.name)
    result = SendResult(ws.name, cfg.name, waited=wait)
    from tutti.budget import check as budget_check

    result.warnings.extend(budget_check(ws, "send", cfg.name).warnings)  # BudgetError when enforced
    det_state = _ready_for_prompt(ws, cfg.name, session, adapter, backend, result, answer=answer,
                                 start_agent=start_agent if auto_up else None)
    before = backend.capture(session, scrollback=max(output_lines, 20)) if output else ""
    baseline = _deliver(backend, session, adapter, prompt, result, answering=answer and det_state is AgentState.WAITING)
    if wait:
        res = wait_for_settle(backend, session, adapter, timeout_secs=timeout_secs, idle_stable_secs=idle_stable_secs,
                              startup_grace_secs=startup_grace_secs, baseline=baseline)
        result.elapsed_secs = res.elapsed_secs
        result.state = res.state
        if not res.completed:
            _fail(cfg.name, res, timeout_secs)
        result.completion_source = res.source
        result.completion_detail = res.detail
    if output:
        after = backend.capture(session, scrollback=max(output_lines, 20))
        delta = pane_delta(before, after)
        lines = delta.split("\n")
        result.captured_output = "\n".join(lines[-output_lines:]) if delta.strip() else ""
    if result.state is None:
        det, _ = classify_pane(backend, session, adapter)
        result.state = det.state.value
    ws.store.append_event("agent.prompt_sent", agent=cfg.name, data={
        "chars": len(prompt), "text": prompt[:1000], "waited": wait, "completion_source": result.completion_source, "auto_started": result.auto_started})
    return result


def _ready_for_prompt(ws: Workspace, agent: str, session: str, adapter, backend: SessionBackend, result: SendResult,
                      *, answer: bool, start_agent: AgentStarter | None) -> AgentState:
    """Make sure a prompt can go in: start the agent (`start_agent`, for auto_up) or refuse a missing one, refuse a
    dialog unless `answer`, warn about unknown/failure states. The state seen (UNKNOWN after auto-up)."""
    pane = backend.pane(session)
    if pane is None or pane.dead:
        if start_agent is None:
            why = "its agent process exited" if pane is not None else "no session"
            raise AgentNotRunning(f"agent '{agent}' is not running ({why})", hint=f"Start the agent first: tt up {agent}")
        start_agent(ws, agent, backend)
        result.auto_started = True
        ready = wait_for_settle(backend, session, adapter, timeout_secs=READY_TIMEOUT_SECS,
                                idle_stable_secs=READY_STABLE_SECS, require_activity=False)
        if not ready.completed:
            if ready.outcome == "timeout":
                raise SessionError(
                    f"agent '{agent}' did not become ready after auto-up within {int(READY_TIMEOUT_SECS)}s (state: {ready.state})",
                    hint=f"run `tt up {agent}` first, then retry `tt send`")
            _fail(agent, ready, READY_TIMEOUT_SECS, during="auto_up_failed")
        return AgentState.UNKNOWN
    det, _ = classify_pane(backend, session, adapter)
    if det.state is AgentState.WAITING and not answer:
        raise SessionError(f"agent '{agent}' is waiting for input ({det.detail or ', '.join(det.evidence[:2])})",
                           hint=waiting_hint(agent, det.evidence), code="agent_waiting")
    if det.state is AgentState.UNKNOWN:
        result.warnings.append(f"agent '{agent}' state is unknown; the prompt may hit a shell or a dialog")
    elif det.state.is_failure:
        result.warnings.append(f"agent '{agent}' looks {det.state.value}: {det.detail or ''}".rstrip(": "))
    return det.state


def _deliver(backend: SessionBackend, session: str, adapter, prompt: str, result: SendResult, *,
             answering: bool) -> str:
    """Paste (or, answering a dialog, type) the prompt, press Enter once, confirm the turn started.
    Returns the screen right after the paste (the settle wait's baseline)."""
    probe = _turn_probe(adapter) if not answering else None  # snapshot *before* the paste
    if answering:
        # Dialogs take keystrokes, not pastes (a paste never answers a dialog): type it.
        backend.send_keys(session, "-l", prompt)
    else:
        backend.send_text(session, prompt, submit=False)
    baseline = backend.capture(session)
    delay = adapter.submit_delay_secs()
    if delay > 0:
        import time

        time.sleep(delay)
    backend.send_keys(session, "Enter")
    if not answering:
        _confirm_delivery(backend, session, adapter, prompt, probe, baseline, result)
    return baseline


DELIVERY_TIMEOUT_SECS = 15.0


def _turn_probe(adapter):
    from tutti.runtimes.signals import StructuredAdapter
    from tutti.runtimes.signals.delivery import TurnProbe

    return TurnProbe(adapter.sources, adapter.pane_pid) if isinstance(adapter, StructuredAdapter) else None


def _confirm_delivery(backend: SessionBackend, session: str, adapter, prompt: str, probe, baseline: str,
                      result: SendResult) -> None:
    """Wait until the runtime shows the turn started (state file, rollout, or the screen);
    press Enter once more only if the prompt is still in the input box (signals.delivery)."""
    from tutti.runtimes.signals.delivery import confirm_turn_started

    ack = confirm_turn_started(prompt=prompt, capture=lambda: backend.capture(session), classify=adapter.classify,
                               press_enter=lambda: backend.send_keys(session, "Enter"), probe=probe,
                               baseline_screen=baseline, timeout_secs=DELIVERY_TIMEOUT_SECS)
    result.delivery = ack.to_dict()
    if not ack.acknowledged:
        result.warnings.append(f"the runtime did not show the prompt being taken within {int(DELIVERY_TIMEOUT_SECS)}s "
                               f"(state: {ack.state}); it may still be queued")
