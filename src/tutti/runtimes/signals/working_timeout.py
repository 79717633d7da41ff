"""Working-timeout: flag an agent that has been `working` for longer than its
`working_timeout_secs` (tutti.toml `[[agent]]`). A runtime stuck in provider retries looks
busy forever — Gemini CLI shows `Thinking...` for 6+ minutes on a 429 — and only the clock
tells. The working period is read from the store's `agent.<state>` events.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tutti.runtimes.base import AgentState

if TYPE_CHECKING:
    from tutti.workspace import Workspace

STUCK_EVENT = "agent.stuck"
_STATE_KINDS = tuple(s.event_kind for s in AgentState)


@dataclass
class StuckVerdict:
    agent: str
    working_since: str
    working_secs: float
    timeout_secs: float
    since_seq: int = 0  # event seq that opened the working period (flag once per period)

    @property
    def message(self) -> str:
        return (f"agent '{self.agent}' has been working for {int(self.working_secs)}s "
                f"(working_timeout_secs = {int(self.timeout_secs)}): probably stuck in provider retries")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.message}


def working_since(ws: Workspace, agent: str) -> str | None:
    """Timestamp of the `agent.working` event that opened the current working period."""
    start = _working_start(ws, agent)
    return start[1] if start else None


def _working_start(ws: Workspace, agent: str) -> tuple[int, str] | None:
    rows = ws.store.query(
        f"SELECT seq, ts, kind FROM events WHERE agent = ? AND kind IN ({','.join('?' * len(_STATE_KINDS))}) "
        "ORDER BY seq DESC LIMIT 200", (agent, *_STATE_KINDS))
    start = None
    for row in rows:
        if row["kind"] != AgentState.WORKING.event_kind:
            break
        start = (row["seq"], row["ts"])
    return start


def check_working_timeout(ws: Workspace, agent: str, state: AgentState, *,
                          now: datetime | None = None) -> StuckVerdict | None:
    """A verdict when `agent` is working past its `working_timeout_secs`, else None."""
    cfg = ws.config.agent(agent)
    timeout = cfg.working_timeout_secs if cfg else None
    if not timeout or state is not AgentState.WORKING:
        return None
    start = _working_start(ws, agent)
    if start is None:
        return None
    since_seq, since = start
    now = now or datetime.now(UTC)
    secs = (now - datetime.fromisoformat(since)).total_seconds()
    if secs < timeout:
        return None
    return StuckVerdict(agent, since, round(secs, 1), float(timeout), since_seq)


def flag_stuck(ws: Workspace, verdict: StuckVerdict) -> bool:
    """Append one `agent.stuck` event per working period; False if already flagged."""
    with ws.store.transaction() as conn:
        seen = conn.execute("SELECT 1 FROM events WHERE agent = ? AND kind = ? AND seq > ? LIMIT 1",
                            (verdict.agent, STUCK_EVENT, verdict.since_seq)).fetchone()
        if seen:
            return False
        ws.store.append_event(STUCK_EVENT, agent=verdict.agent, data=verdict.to_dict(), conn=conn)
    return True
