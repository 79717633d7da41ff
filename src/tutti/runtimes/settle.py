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
from tutti.runtimes.observe import classify_pane
from tutti.sessions.control import ControlClient
from tutti.sessions.screen import body
from tutti.sessions.tmux import TmuxBackend

STRUCTURED = frozenset({"state_file", "rollout"})  # Detection.source of runtimes' own turn records
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
    woke = threading.Event()
    client = ControlClient(backend, session, on_output=lambda _p: woke.set(), on_exit=woke.set).start()
    client.subscribe("dead", "#{pane_dead}")
    progress = _Progress(time.monotonic(), idle_stable_secs, startup_grace_secs,
                         body(baseline) if baseline is not None else None, activity=not require_activity)
    deadline = progress.started + timeout_secs
    screen = ""
    try:
        while True:
            now = time.monotonic()
            det, screen = classify_pane(backend, session, adapter)
            done = progress.judge(det, screen, now)
            if done is not None:
                return done
            if now >= deadline:
                return _result("timeout", det, screen, progress.started, progress.activity)
            if cancel is not None and cancel.is_set():
                return _result("cancelled", det, screen, progress.started, progress.activity)
            _sleep(woke, progress.next_wait(now), deadline - now, settle_secs)
            if client.exited and not backend.exists(session):
                return SettleResult("stopped", AgentState.STOPPED.value, detail="session ended",
                                    elapsed_secs=time.monotonic() - progress.started,
                                    activity_seen=progress.activity, screen=screen)
    finally:
        client.stop()


@dataclass
class _Progress:
    """What the wait has seen so far, and whether one observation ends it."""

    started: float
    idle_stable_secs: float
    startup_grace_secs: float
    base_body: str | None
    activity: bool = False
    idle_since: float | None = None
    idle_body: str | None = None
    structured_busy: bool = False  # the runtime itself said "working" during this wait

    def judge(self, det: Detection, screen: str, now: float) -> SettleResult | None:
        if det.state in ENDING:
            return _result(ENDING[det.state], det, screen, self.started, self.activity)
        if det.state is AgentState.WORKING:
            self.activity = True
            self.idle_since = None
            self.structured_busy = self.structured_busy or det.source in STRUCTURED
        elif det.state is AgentState.IDLE and self.structured_busy and det.source in STRUCTURED:
            # The runtime's own record says the turn it started in this wait has ended (a
            # state file, a rollout's task_complete): exact, so no stability window. A
            # structured idle *before* any structured busy could be the previous turn's, so
            # that case, and screens alone, still need the idle-and-stable window below.
            res = _result("completed", det, screen, self.started, self.activity)
            res.source = "runtime_signal"
            return res
        elif det.state is AgentState.IDLE:
            current_body = body(screen)
            if not self.activity and self.base_body is not None and current_body != self.base_body:
                self.activity = True  # the prompt was consumed and the agent printed something
            if self.idle_since is None or current_body != self.idle_body:
                self.idle_since, self.idle_body = now, current_body
            ready = self.activity or (now - self.started >= self.startup_grace_secs)
            if ready and now - self.idle_since >= self.idle_stable_secs:
                res = _result("completed", det, screen, self.started, self.activity)
                res.source = "runtime_signal" if self.activity else "heuristic_idle_stable"
                if not self.activity:
                    res.detail = "completion_before_activity_after_grace"
                return res
        else:
            self.idle_since = None
        return None

    def next_wait(self, now: float) -> float:
        """Sleep until output arrives, the pane settles, or the idle timer could fire."""
        if self.structured_busy:
            return 0.1  # a state file changes without screen output: look often
        if self.idle_since is None:
            return 1.0
        return min(1.0, max(0.05, self.idle_since + self.idle_stable_secs - now))


def _sleep(woke: threading.Event, wait: float, left: float, settle_secs: float) -> None:
    woke.clear()
    if woke.wait(timeout=max(0.0, min(wait, left))):
        last_output = time.monotonic()
        # Let a burst of output finish before capturing again.
        while woke.wait(timeout=settle_secs) and time.monotonic() - last_output < 2.0:
            woke.clear()


def _result(outcome: str, det: Detection, screen: str, started: float, activity: bool) -> SettleResult:
    return SettleResult(outcome, det.state.value, detail=det.detail, evidence=list(det.evidence),
                        elapsed_secs=round(time.monotonic() - started, 3), activity_seen=activity, screen=screen)
