"""`wait_for_settle`: block until an agent has finished what it was asked, event-driven.

Completion means: the agent was seen *working* after the prompt (or the prompt was consumed
and the screen body changed), and is then classified idle with no change of the screen body
for `idle_stable_secs`. Footer redraws (timers, context %, spinners' counters in the last
lines) do not count as activity and do not reset stability. The wait ends early, with that
outcome, on auth failure, rate limit, provider outage, a dialog waiting for an answer, or the
session ending. Output notifications come from a tmux control-mode client, so the screen is
only captured when the pane actually wrote something (plus one check per second for timers).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field

from tutti.runtimes.base import AgentState, Detection, RuntimeAdapter
from tutti.sessions.control import ControlClient
from tutti.sessions.screen import body
from tutti.sessions.tmux import TmuxBackend

ENDING = {
    AgentState.AUTH_FAILED: "auth_failed", AgentState.RATE_LIMITED: "rate_limited",
    AgentState.PROVIDER_DOWN: "provider_down", AgentState.WAITING: "waiting", AgentState.STOPPED: "stopped",
}


@dataclass
class SettleResult:
    outcome: str  # completed | auth_failed | rate_limited | provider_down | waiting | stopped | timeout
    state: str
    source: str | None = None  # runtime_signal | heuristic_idle_stable (when completed)
    detail: str | None = None
    evidence: list[str] = field(default_factory=list)
    elapsed_secs: float = 0.0
    activity_seen: bool = False
    screen: str = ""

    @property
    def completed(self) -> bool:
        return self.outcome == "completed"

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("screen")
        return d


def wait_for_settle(backend: TmuxBackend, session: str, adapter: RuntimeAdapter, *, timeout_secs: float = 900,
                    idle_stable_secs: float = 5.0, startup_grace_secs: float = 10.0, baseline: str | None = None,
                    require_activity: bool = True, cancel: threading.Event | None = None,
                    settle_secs: float = 0.3) -> SettleResult:
    """Wait for the agent in `session` to settle.

    `baseline`: the screen right after the prompt was pasted (before Enter), so "the body
    changed" means the agent did something. `require_activity=False` is for readiness after a
    launch: idle and stable is enough.
    """
    from tutti.runtimes.observe import classify_pane

    woke = threading.Event()
    client = ControlClient(backend, session, on_output=lambda _p: woke.set(), on_exit=woke.set).start()
    client.subscribe("dead", "#{pane_dead}")
    started = time.monotonic()
    deadline = started + timeout_secs
    base_body = body(baseline) if baseline is not None else None
    activity = not require_activity
    idle_since: float | None = None
    idle_body: str | None = None
    last_output = started
    det = Detection(AgentState.UNKNOWN, 0.0)
    screen = ""
    try:
        while True:
            now = time.monotonic()
            det, screen = classify_pane(backend, session, adapter)
            current_body = body(screen)
            if det.state in ENDING:
                return _result(ENDING[det.state], det, screen, started, activity)
            if det.state is AgentState.WORKING:
                activity = True
                idle_since = None
            elif det.state is AgentState.IDLE:
                if not activity and base_body is not None and current_body != base_body:
                    activity = True  # the prompt was consumed and the agent printed something
                if idle_since is None or current_body != idle_body:
                    idle_since, idle_body = now, current_body
                ready = activity or (now - started >= startup_grace_secs)
                if ready and now - idle_since >= idle_stable_secs:
                    res = _result("completed", det, screen, started, activity)
                    res.source = "runtime_signal" if activity else "heuristic_idle_stable"
                    if not activity:
                        res.detail = "completion_before_activity_after_grace"
                    return res
            else:
                idle_since = None
            if now >= deadline:
                return _result("timeout", det, screen, started, activity)
            if cancel is not None and cancel.is_set():
                return _result("cancelled", det, screen, started, activity)
            # Sleep until output arrives, the pane settles, or the idle timer could fire.
            wait = 1.0
            if idle_since is not None:
                wait = min(wait, max(0.05, idle_since + idle_stable_secs - now))
            woke.clear()
            if woke.wait(timeout=max(0.0, min(wait, deadline - now))):
                last_output = time.monotonic()
                # Let a burst of output finish before capturing again.
                while woke.wait(timeout=settle_secs) and time.monotonic() - last_output < 2.0:
                    woke.clear()
            if client.exited and not backend.exists(session):
                return SettleResult("stopped", AgentState.STOPPED.value, detail="session ended",
                                    elapsed_secs=time.monotonic() - started, activity_seen=activity, screen=screen)
    finally:
        client.stop()


def _result(outcome: str, det: Detection, screen: str, started: float, activity: bool) -> SettleResult:
    return SettleResult(outcome, det.state.value, detail=det.detail, evidence=list(det.evidence),
                        elapsed_secs=round(time.monotonic() - started, 3), activity_seen=activity, screen=screen)
