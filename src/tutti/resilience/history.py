"""What recovery did, read back from the event spine — for `tt serve` / the dashboard.

The breaker and backoff live in the watcher's memory; the store has everything they did, so a
reader in another process derives each agent's recovery status from the events alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutti.workspace import Workspace

KINDS = ["agent.recovery_attempted", "agent.recovery_scheduled", "agent.recovery_succeeded",
         "agent.recovery_failed", "agent.recovery_cancelled", "provider.degraded", "agent.started"]


@dataclass
class AgentRecovery:
    agent: str
    last_event: str | None = None  # kind of the latest recovery event
    last_ts: str | None = None
    attempts: int = 0  # restarts attempted since the agent was last started by hand
    human_needed: bool = False  # the breaker opened; nothing more is tried until someone acts
    profile: str | None = None  # profile of the latest restart
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RecoveryHistory:
    agents: list[AgentRecovery] = field(default_factory=list)
    degraded: list[dict[str, Any]] = field(default_factory=list)  # provider.degraded events' data + ts

    def to_dict(self) -> dict[str, Any]:
        return {"agents": [a.to_dict() for a in self.agents], "degraded": self.degraded}


def recovery_history(ws: Workspace, *, agent: str | None = None, limit: int = 2000) -> RecoveryHistory:
    """Per-agent recovery status and provider-level incidents from the latest `limit` events."""
    rows = ws.store.query(
        f"SELECT seq, ts, kind, agent, data FROM events WHERE kind IN ({','.join('?' * len(KINDS))})"
        + (" AND (agent = ? OR agent IS NULL)" if agent else "") + " ORDER BY seq DESC LIMIT ?",
        (*KINDS, *([agent] if agent else []), limit))
    import json

    out = RecoveryHistory()
    by_agent: dict[str, AgentRecovery] = {}
    for row in reversed(list(rows)):
        data = json.loads(row["data"] or "{}")
        if row["kind"] == "provider.degraded":
            out.degraded.append({"ts": row["ts"], **data})
            continue
        name = row["agent"]
        if not name:
            continue
        rec = by_agent.setdefault(name, AgentRecovery(name))
        if row["kind"] == "agent.started":
            # a launch not made by recovery (tt up by hand) starts a fresh count
            if rec.last_event not in ("agent.recovery_attempted",):
                by_agent[name] = AgentRecovery(name)
            continue
        rec.last_event, rec.last_ts = row["kind"], row["ts"]
        rec.error = data.get("error")
        if row["kind"] == "agent.recovery_attempted" and not data.get("paused"):
            rec.attempts += 1
            rec.profile = data.get("to_profile")
        rec.human_needed = bool(data.get("human_needed"))
    out.agents = sorted(by_agent.values(), key=lambda a: a.agent)
    return out
