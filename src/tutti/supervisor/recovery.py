"""Carrying out recovery inside the supervisor's watcher (which already sees every state change).

The pure parts (policy, backoff, history) stay in `tutti.resilience`.
`Recovery.observe(agent, detection)` is called by `tutti.supervisor.watcher.Watcher` on each state
transition (and when the working timeout flags a stuck agent); `tick()` runs the restarts whose
backoff has elapsed. A restart kills the session, relaunches the agent through `ops.agents.up`
on the profile the policy chose, and waits (event-driven, up to ~10 s) for the new agent to look
healthy. Events (data `{trigger, strategy, from_profile, to_profile, attempt, backoff_secs,
error?}`):

- `agent.recovery_attempted` — a restart is starting (or, with strategy `pause`, only recorded:
  `paused: true`); `agent.recovery_scheduled` when it waits for its backoff first;
- `agent.recovery_succeeded` / `agent.recovery_failed` — its outcome; a failed one with
  `human_needed: true` means the circuit breaker opened and nothing more is tried;
- `agent.recovery_cancelled` — a waiting restart was dropped: the agent was stopped with
  `tt down` or is healthy again;
- `provider.degraded` — several agents failed the same way on one profile within the window.

Each restart runs in its own worker thread (the watcher keeps classifying the other panes
meanwhile); the policy is only touched under a lock, and `on_done` asks the watcher to rescan
and attach to the relaunched session.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tutti.errors import TuttiError
from tutti.resilience.policy import PAUSE, Action, Failure, RecoveryPolicy
from tutti.runtimes.base import AgentState, Detection

if TYPE_CHECKING:
    from tutti.sessions.backend import SessionBackend
    from tutti.workspace import Workspace

TRIGGER_STATES = {AgentState.AUTH_FAILED: "auth_failed", AgentState.RATE_LIMITED: "rate_limited",
                  AgentState.PROVIDER_DOWN: "provider_down"}
HEALTHY = (AgentState.IDLE, AgentState.WORKING, AgentState.WAITING)


class Recovery:
    def __init__(self, ws: Workspace, backend: SessionBackend, *, clock: Callable[[], float] = time.monotonic,
                 forget: Callable[[str], None] | None = None, on_done: Callable[[], None] | None = None) -> None:
        from tutti.ops.resolve import load_global

        self.ws = ws
        self.backend = backend
        self.forget = forget or (lambda _agent: None)  # the watcher drops its pane before a restart
        self.on_done = on_done or (lambda: None)  # a restart finished (the watcher rescans)
        self._lock = threading.RLock()
        self._threads: list[threading.Thread] = []
        gc = load_global()
        self.policy = RecoveryPolicy(gc.resilience, gc.profiles, clock=clock)
        self._stuck: set[str] = set()  # agents already handled for their current working period
        self._restarting: set[str] = set()

    # -- in ----------------------------------------------------------------------------------
    def observe(self, agent: str, det: Detection, *, previous: AgentState | None = None) -> None:
        """A state transition the watcher recorded."""
        with self._lock:
            if agent in self._restarting:
                return  # our own kill / relaunch: the launch check judges it
            self._observe(agent, det)

    def _observe(self, agent: str, det: Detection) -> None:
        state = det.state
        if state is not AgentState.WORKING:
            self._stuck.discard(agent)
        if any(e.startswith("working_timeout:") for e in det.evidence):
            if state is AgentState.WORKING and agent not in self._stuck:
                self._stuck.add(agent)
                self._failure(agent, "stuck", det.detail)
            return  # working past its timeout is not healthy
        if state in HEALTHY:
            self.policy.on_healthy(agent)
            return
        if state in TRIGGER_STATES:
            self._failure(agent, TRIGGER_STATES[state], det.detail)
        elif state is AgentState.STOPPED and self._crashed(agent, det):
            self._failure(agent, "crashed", det.detail)

    def tick(self, *, wait: bool = False) -> int:
        """Start the restarts whose backoff has elapsed, each in a worker thread; how many.
        `wait`: run them to completion first (tests, one-shot callers)."""
        with self._lock:
            due = self.policy.due()
            for action in due:
                self._restarting.add(action.agent or "")
                self.forget(action.agent or "")  # in the caller's (watcher's) thread
        for action in due:
            t = threading.Thread(target=self._restart, args=(action,), name=f"tutti-recover-{action.agent}",
                                 daemon=True)
            self._threads.append(t)
            t.start()
        if wait:
            self.join()
        return len(due)

    def join(self, timeout: float | None = None) -> None:
        for t in list(self._threads):
            t.join(timeout)
        self._threads = [t for t in self._threads if t.is_alive()]

    def next_due(self) -> float | None:
        with self._lock:
            return self.policy.next_due()

    def restarting(self, agent: str) -> bool:
        """This agent's session is being killed and relaunched right now: the watcher leaves it
        alone (no attach to the dying session, no "stopped" for our own kill) until it is done."""
        with self._lock:
            return agent in self._restarting

    def busy(self) -> bool:
        """A restart is waiting for its backoff or running (the watcher must not exit)."""
        with self._lock:
            return self.policy.busy()

    # -- internals -------------------------------------------------------------------------------
    def _crashed(self, agent: str, det: Detection) -> bool:
        cfg = self.ws.config.agent(agent)
        return bool(cfg and cfg.persistent and any(e in ("session:gone", "session:pane_dead") for e in det.evidence))

    def _failure(self, agent: str, trigger: str, detail: str | None) -> None:
        from tutti.ops.resolve import load_global

        try:  # the global config may have been edited while we run
            gc = load_global()
            with self._lock:
                self.policy.configure(gc.resilience, gc.profiles)
        except TuttiError as exc:
            print(f"recovery: keeping the previous global config: {exc}", file=sys.stderr)
        profile = self._profile_of(agent)
        with self._lock:
            self._apply(self.policy.on_failure(Failure(agent, trigger, profile, detail)))

    def _apply(self, actions: list[Action]) -> None:
        for a in actions:
            if a.kind == "degraded":
                self.ws.store.append_event("provider.degraded", data={
                    "profile": a.from_profile, "provider": self._provider_of(a.from_profile), "trigger": a.trigger,
                    "agents": a.agents, "strategy": a.strategy,
                    "window_secs": self.policy.resilience.correlation_window_secs})
            elif a.kind == PAUSE:
                self.ws.store.append_event("agent.recovery_attempted", agent=a.agent,
                                           data={**a.event_data(), "paused": True})
            elif a.kind == "give_up":
                self.ws.store.append_event("agent.recovery_failed", agent=a.agent,
                                           data={**a.event_data(), "human_needed": True})
            elif a.kind == "restart" and a.backoff_secs > 0:
                self.ws.store.append_event("agent.recovery_scheduled", agent=a.agent, data=a.event_data())

    def _restart(self, a: Action) -> None:
        from tutti.ops.agents import launch_failure, up
        from tutti.runtimes.registry import adapter_for
        from tutti.sessions import agent_state
        from tutti.store.db import now_iso

        agent = a.agent or ""
        session = self.ws.session_name(agent)
        why_not = self._overtaken(agent, a.trigger)
        if why_not:
            with self._lock:
                self.policy.on_result(a, ok=True)  # nothing to recover any more: drop it
                self._restarting.discard(agent)
            self.ws.store.append_event("agent.recovery_cancelled", agent=agent, data={**a.event_data(), "reason": why_not})
            self.on_done()
            return
        self.ws.store.append_event("agent.recovery_attempted", agent=agent, data=a.event_data())
        error: str | None = None
        try:
            # Marked stopped first, so the watcher does not report our kill as a crash.
            agent_state.update_state(self.ws.state_dir, agent, state=AgentState.STOPPED, status="Stopped",
                                     stopped_at=now_iso(), detail=f"restarting ({a.trigger} recovery)")
            self.backend.kill(session)
            up(self.ws, agent, backend=self.backend, start_watcher=False, profile_override=a.to_profile)
            error = launch_failure(self.backend, session, adapter_for(self.ws, agent))
        except TuttiError as exc:
            error = exc.message
        except Exception as exc:  # noqa: BLE001 - a daemon: record the failure, keep watching
            error = f"{type(exc).__name__}: {exc}"
        data = {**a.event_data(), **({"error": error} if error else {})}
        self.ws.store.append_event("agent.recovery_failed" if error else "agent.recovery_succeeded",
                                   agent=agent, data=data)
        with self._lock:
            self._restarting.discard(agent)
            self._apply(self.policy.on_result(a, ok=error is None, error=error))
        self.on_done()

    def _overtaken(self, agent: str, trigger: str) -> str | None:
        """Why a restart must not run (any more): a human stopped the agent (`tt down`), or it
        recovered on its own / was relaunched while the restart waited for its backoff."""
        from tutti.sessions import agent_state

        saved = agent_state.read_state(self.ws.state_dir, agent) or {}
        state = saved.get("state")
        if saved.get("detail") == "stopped by tt down":
            return "stopped by tt down"
        # A stuck agent still says "working"; it is over when it stops working.
        healthy = {AgentState.IDLE.value, AgentState.WAITING.value} if trigger == "stuck" else {s.value for s in HEALTHY}
        if state in healthy:
            return f"agent is {state} again"
        return None

    def _profile_of(self, agent: str) -> str | None:
        from tutti.sessions import agent_state

        saved = agent_state.read_state(self.ws.state_dir, agent) or {}
        return saved.get("profile") or self.ws.config.workspace.auth.default_profile

    def _provider_of(self, profile: str | None) -> str | None:
        return next((p.provider for p in self.policy.profiles if p.name == profile), None)
