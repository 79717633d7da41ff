"""Provider health at a glance: per provider and profile, from the events detection, recovery and
the API-direct providers already record — nothing is probed, so reading it costs one query.

A provider is `down` when a correlated failure (`provider.degraded`) happened in the window or
two or more live agents on it are all in a failure state; `degraded` when an agent on it is rate-limited or
failing, or its recent error rate is above 20 %; `ok` otherwise (`unknown` with no traffic).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutti.workspace import Workspace

FAILURE_STATES = {"auth_failed", "rate_limited", "provider_down"}
STATE_KINDS = {f"agent.{s}" for s in ("working", "idle", "waiting", "stopped", *FAILURE_STATES)}
KINDS = sorted(STATE_KINDS | {"agent.started", "provider.degraded", "direct.model_call", "direct.provider_retry",
                              "direct.provider_failover", "agent.recovery_scheduled"})
DEGRADED_ERROR_RATE = 0.2
_RETRY_SECS = re.compile(r"(?:retry|try again|reset)[^0-9]{0,20}(\d+)\s*(s\b|sec|second|m\b|min|minute)", re.I)


@dataclass
class ProviderHealth:
    provider: str
    profile: str | None
    status: str = "unknown"  # ok | degraded | down | unknown
    agents: list[str] = field(default_factory=list)
    failing_agents: dict[str, str] = field(default_factory=dict)  # agent -> its failure state now
    last_auth_failure: dict[str, Any] | None = None  # {ts, agent, detail}
    rate_limited: bool = False
    rate_limit_reset_at: str | None = None
    requests: int = 0  # successful turns/calls in the window
    errors: int = 0  # failures in the window
    last_degraded_at: str | None = None

    @property
    def error_rate(self) -> float:
        total = self.requests + self.errors
        return round(self.errors / total, 3) if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "error_rate": self.error_rate}


def provider_health(ws: Workspace, *, window: str = "1h", now: datetime | None = None,
                    profiles: dict[str, str | None] | None = None) -> list[ProviderHealth]:
    """`profiles`: profile name -> provider, when the caller already read the global config."""
    from tutti.ops.usage import parse_since
    from tutti.usage.attribution import provider_of

    now = now or datetime.now(UTC)
    since = parse_since(window, now=now, flag="--window")
    profiles = _profiles() if profiles is None else profiles
    agent_profile: dict[str, str | None] = {}
    agent_runtime = {a.name: ws.config.resolved_runtime(a) for a in ws.config.agents}
    agent_state: dict[str, tuple[str, str, str | None]] = {}  # agent -> (state, ts, detail)
    rows: dict[tuple[str, str | None], ProviderHealth] = {}

    def entry(agent: str | None, data: dict[str, Any]) -> ProviderHealth:
        profile = data.get("profile") or agent_profile.get(agent or "")
        provider = (data.get("provider") or (profiles.get(profile) if profile else None)
                    or provider_of(data.get("model"), agent_runtime.get(agent or "")))
        key = (provider, profile)
        if key not in rows:
            rows[key] = ProviderHealth(provider, profile)
        if agent and agent not in rows[key].agents:
            rows[key].agents.append(agent)
        return rows[key]

    events = ws.store.query(f"SELECT ts, kind, agent, data FROM events WHERE kind IN ({','.join('?' * len(KINDS))}) "
                            "ORDER BY seq", tuple(KINDS))
    for row in events:
        data = json.loads(row["data"] or "{}")
        kind, agent, ts = row["kind"], row["agent"], row["ts"]
        if kind == "agent.started":
            agent_profile[agent] = data.get("profile")
            entry(agent, data)
        elif kind in STATE_KINDS:
            _state_event(entry(agent, {}), agent, kind.split(".", 1)[1], ts, data, since, agent_state)
        elif kind == "provider.degraded":
            h = entry(None, data)
            if ts >= since:
                h.last_degraded_at = ts
        elif ts >= since:
            h = entry(agent, data)
            if kind == "direct.model_call":
                h.requests += 1
            elif kind == "direct.provider_retry":
                h.errors += 1
                if data.get("status") == 401:
                    h.last_auth_failure = {"ts": ts, "agent": agent, "detail": data.get("reason")}
    for h in rows.values():
        _judge(h, agent_state, now)
    return sorted(rows.values(), key=lambda h: (h.provider, h.profile or ""))


def _state_event(h: ProviderHealth, agent: str, state: str, ts: str, data: dict[str, Any], since: str,
                 agent_state: dict[str, tuple[str, str, str | None]]) -> None:
    agent_state[agent] = (state, ts, data.get("detail"))
    if state == "auth_failed":
        h.last_auth_failure = {"ts": ts, "agent": agent, "detail": data.get("detail")}
    if ts < since:
        return
    if state in FAILURE_STATES:
        h.errors += 1
    elif state == "idle" and data.get("from") == "working":
        h.requests += 1  # a turn that finished


def _judge(h: ProviderHealth, agent_state: dict[str, tuple[str, str, str | None]], now: datetime) -> None:
    for agent in h.agents:
        state, ts, detail = agent_state.get(agent, ("unknown", "", None))
        if state in FAILURE_STATES:
            h.failing_agents[agent] = state
        if state == "rate_limited":
            h.rate_limited = True
            h.rate_limit_reset_at = _reset_at(ts, detail) or h.rate_limit_reset_at
    live = [a for a in h.agents if agent_state.get(a, ("stopped",))[0] not in ("stopped", "unknown")]
    # One failing agent may be its own problem (its key, its session); two or more all failing is
    # the provider — the same reading recovery's correlation makes.
    if h.last_degraded_at or (len(live) >= 2 and all(a in h.failing_agents for a in live)):
        h.status = "down"
    elif h.failing_agents or h.rate_limited or h.error_rate > DEGRADED_ERROR_RATE:
        h.status = "degraded"
    elif h.requests or live:
        h.status = "ok"


def _reset_at(ts: str, detail: str | None) -> str | None:
    """When a rate limit says how long to wait ("retry after 30s", "try again in 5 minutes")."""
    m = _RETRY_SECS.search(detail or "")
    if not m:
        return None
    secs = int(m.group(1)) * (60 if m.group(2).lower().startswith("m") else 1)
    start = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return (start + timedelta(seconds=secs)).isoformat(timespec="seconds").replace("+00:00", "Z")


def _profiles() -> dict[str, str | None]:
    """profile name -> provider, from the global config (empty when it is unreadable)."""
    try:
        from tutti.ops.resolve import load_global

        return {p.name: p.provider for p in load_global().profiles}
    except Exception:  # noqa: BLE001 - health must render even with a broken global config
        return {}
