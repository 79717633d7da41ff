"""The recovery policy: what to do when an agent fails, decided without touching tmux.

Pure apart from a clock: `RecoveryPolicy.on_failure(Failure)` returns `Action`s (restart now or
later, pause, give up, provider degraded) and `due()` hands out the restarts whose backoff has
elapsed. `tutti.supervisor.recovery.Recovery` carries them out inside the supervisor's watcher.

Beats the original (inventory §9.3): a rotation restarts the agent on the NEXT profile of the
same provider (it restarted on the default profile again), backoff grows per agent instead of a
flat 90 s cooldown, a circuit breaker stops after `recovery_max_attempts` consecutive
recoveries (a human is needed), a retry/reset hint on the screen keeps the exhausted profile
cooling until then, and several agents failing the same way on one profile within
`correlation_window_secs` are one provider-level failure (`provider.degraded`), rotated together.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tutti.config.models import Profile, Resilience
from tutti.resilience.backoff import backoff_secs, retry_after_secs

TRIGGERS = ("auth_failed", "rate_limited", "provider_down", "stuck", "crashed")
ROTATE, PAUSE, RESTART = "rotate", "pause", "restart"
HUMAN_NEEDED = "circuit open: {n} consecutive recoveries did not keep the agent healthy; a human is needed"


@dataclass
class Failure:
    """An agent entered a failure state (`trigger`) while running on `profile`."""

    agent: str
    trigger: str
    profile: str | None
    detail: str | None = None


@dataclass
class Action:
    kind: str  # "restart" | "pause" | "give_up" | "degraded"
    agent: str | None
    trigger: str
    strategy: str | None
    from_profile: str | None = None
    to_profile: str | None = None
    attempt: int = 0
    backoff_secs: float = 0.0
    due: float = 0.0  # clock time at which a restart may run
    error: str | None = None
    agents: list[str] = field(default_factory=list)  # `degraded`: every agent failing together
    provider_level: bool = False
    started: bool = False  # a restart handed out by `due()` and now running

    def event_data(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k not in ("kind", "agent", "due", "agents", "started")}
        if self.error is None:
            data.pop("error")
        return data


@dataclass
class _AgentRecord:
    attempts: int = 0  # consecutive recoveries since the agent was last healthy for reset_secs
    tried: list[str] = field(default_factory=list)  # profiles used in this streak
    healthy_since: float | None = None
    circuit_open: bool = False
    pending: Action | None = None


def strategy_kind(strategy: str | None) -> str | None:
    if strategy is None:
        return None
    if strategy in Resilience.ROTATION_VALUES:
        return ROTATE
    return RESTART if strategy in (RESTART, "crash_restart") else PAUSE  # unknown words only record


class RecoveryPolicy:
    def __init__(self, resilience: Resilience, profiles: list[Profile], *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.resilience = resilience
        self.profiles = profiles
        self.clock = clock
        self.agents: dict[str, _AgentRecord] = {}
        self.cooling: dict[str, float] = {}  # profile → clock time its quota/credentials may be back
        self._recent: list[tuple[float, str, str | None, str]] = []  # (at, trigger, profile, agent)
        self._degraded: dict[tuple[str | None, str], float] = {}  # (profile, trigger) → announced at

    def configure(self, resilience: Resilience, profiles: list[Profile]) -> None:
        """New global config (edited while the watcher runs); the per-agent history stays."""
        self.resilience, self.profiles = resilience, profiles

    # -- strategy ----------------------------------------------------------------------------
    def strategy_for(self, trigger: str) -> str | None:
        r = self.resilience
        if trigger == "rate_limited":
            return r.rate_limit_strategy
        if trigger == "auth_failed":
            return r.rate_limit_strategy or r.provider_down_strategy
        if trigger in ("provider_down", "stuck"):  # stuck = usually hidden provider retries
            return r.provider_down_strategy or (r.rate_limit_strategy if trigger == "stuck" else None)
        if trigger == "crashed":
            return "crash_restart" if r.restart_persistent else None  # the original's strategy name
        return None

    # -- events in -----------------------------------------------------------------------------
    def on_healthy(self, agent: str) -> None:
        rec = self.agents.setdefault(agent, _AgentRecord())
        if rec.healthy_since is None:
            rec.healthy_since = self.clock()

    def cancel(self, agent: str) -> None:
        """A human stopped or restarted the agent: drop a pending restart."""
        rec = self.agents.get(agent)
        if rec is not None:
            rec.pending = None

    def on_failure(self, f: Failure) -> list[Action]:
        now = self.clock()
        strategy = self.strategy_for(f.trigger)
        kind = strategy_kind(strategy)
        if kind is None:
            return []
        rec = self.agents.setdefault(f.agent, _AgentRecord())
        if rec.healthy_since is not None and now - rec.healthy_since >= self.resilience.recovery_reset_secs:
            rec.attempts, rec.tried, rec.circuit_open = 0, [], False  # healthy long enough: close the breaker
        rec.healthy_since = None
        if rec.pending is not None or rec.circuit_open:
            return []  # already being handled, or waiting for a human
        self._cool(f)
        if kind == PAUSE:
            return [Action(PAUSE, f.agent, f.trigger, strategy, f.profile, None, rec.attempts, 0.0, now)]
        out: list[Action] = []
        group = self._correlated(f, now)
        degraded_key = (f.profile, f.trigger)
        if group and now - self._degraded.get(degraded_key, -1e18) > self.resilience.correlation_window_secs:
            self._degraded[degraded_key] = now
            self.cooling[f.profile or ""] = max(self.cooling.get(f.profile or "", 0.0),
                                                now + self.resilience.correlation_window_secs)
            out.append(Action("degraded", None, f.trigger, strategy, f.profile, None, agents=sorted({*group, f.agent}),
                              provider_level=True))
            # The agents that failed earlier in the window and still wait for their turn move
            # with this one: one rotation for the provider, not one escalation per agent.
            for other in group:
                pending = self.agents.get(other, _AgentRecord()).pending
                if pending is not None:
                    pending.provider_level = True
        attempt = rec.attempts + 1
        if attempt > self.resilience.recovery_max_attempts:
            rec.circuit_open = True
            out.append(Action("give_up", f.agent, f.trigger, strategy, f.profile, None, rec.attempts, 0.0, now,
                              error=HUMAN_NEEDED.format(n=rec.attempts)))
            return out
        rec.attempts = attempt
        to_profile = self._next_profile(f.profile, rec.tried) if kind == ROTATE else f.profile
        delay = backoff_secs(attempt, base=self.resilience.recovery_backoff_secs,
                             cap=self.resilience.recovery_max_backoff_secs)
        if to_profile is not None and to_profile in self.cooling:
            delay = max(delay, self.cooling[to_profile] - now)  # no fresh profile: wait for the reset
        action = Action(RESTART, f.agent, f.trigger, strategy, f.profile, to_profile, attempt, round(delay, 1),
                        now + delay, provider_level=bool(group))
        rec.pending = action
        if to_profile:
            rec.tried.append(to_profile)
        out.append(action)
        return out

    def on_result(self, action: Action, ok: bool, error: str | None = None) -> list[Action]:
        """The outcome of a restart. A failed launch is a new failure on the profile it tried."""
        rec = self.agents.setdefault(action.agent or "", _AgentRecord())
        if rec.pending is action:
            rec.pending = None
        if ok:
            return []
        return self.on_failure(Failure(action.agent or "", action.trigger, action.to_profile, error))

    # -- restarts out ----------------------------------------------------------------------------
    def due(self) -> list[Action]:
        """Restarts whose time has come; each is handed out once (marked started) until its
        `on_result`."""
        now = self.clock()
        out = sorted((r.pending for r in self.agents.values()
                      if r.pending is not None and not r.pending.started and r.pending.due <= now), key=lambda a: a.due)
        for action in out:
            action.started = True
        return out

    def next_due(self) -> float | None:
        dues = [r.pending.due for r in self.agents.values() if r.pending is not None and not r.pending.started]
        return min(dues) if dues else None

    def busy(self) -> bool:
        """A restart is waiting or running."""
        return any(r.pending is not None for r in self.agents.values())

    # -- internals -------------------------------------------------------------------------------
    def _cool(self, f: Failure) -> None:
        """Keep the profile that failed out of rotation until its hint (or a default) says."""
        if not f.profile or f.trigger in ("crashed", "stuck"):
            return
        r = self.resilience
        hint = retry_after_secs(f.detail)
        default = {"rate_limited": r.recovery_max_backoff_secs, "auth_failed": r.recovery_reset_secs}.get(
            f.trigger, r.recovery_backoff_secs)
        until = self.clock() + (hint if hint is not None else default)
        self.cooling[f.profile] = max(self.cooling.get(f.profile, 0.0), until)

    def _correlated(self, f: Failure, now: float) -> set[str]:
        """Other agents that failed the same way on the same profile within the window."""
        window = self.resilience.correlation_window_secs
        self._recent = [e for e in self._recent if now - e[0] <= window]
        others = {a for _at, trig, prof, a in self._recent if trig == f.trigger and prof == f.profile and a != f.agent}
        self._recent.append((now, f.trigger, f.profile, f.agent))
        return set() if f.trigger in ("crashed", "stuck") else others

    def _next_profile(self, current: str | None, tried: list[str]) -> str | None:
        """The next same-provider profile after `current` (priority, then name, wrapping
        round), preferring ones not tried in this streak and not cooling down; `current`
        itself only when there is no other."""
        if current is None:
            return None
        me = next((p for p in self.profiles if p.name == current), None)
        if me is None:
            return current
        ring = sorted((p for p in self.profiles if p.provider == me.provider),
                      key=lambda p: (p.priority if p.priority is not None else 1 << 30, p.name))
        i = next(k for k, p in enumerate(ring) if p.name == current)
        after = [p.name for p in ring[i + 1:] + ring[:i]]
        now = self.clock()
        fresh = [n for n in after if self.cooling.get(n, 0.0) <= now]
        for pool in ([n for n in fresh if n not in tried], fresh):
            if pool:
                return pool[0]
        if after:  # every other profile is cooling: the one whose quota returns first
            return min(after + [current], key=lambda n: self.cooling.get(n, 0.0))
        return current
