"""Agent-to-agent messages: a store-backed inbox per agent (`tt msg send|list`, the `message` action).

An agent (its shell has `TUTTI_AGENT`), a workflow command step, the operator or the API posts a
message to another agent; the supervisor's inbox part (`tutti.supervisor.inbox`) delivers it as a
prompt once the recipient is idle, through the same acknowledged delivery as `tt send`. Every
step is an event: `message.posted`, `message.delivered`, `message.delivery_failed`.

Loops are capped when posting, so a ping-pong between two agents stops by itself:
- at most `MAX_PER_PAIR` messages from one sender to one recipient per `PAIR_WINDOW_SECS`;
- a reply (`reply_to`) is one level deeper than what it answers; beyond `MAX_DEPTH` it is refused.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tutti.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from tutti.workspace import Workspace

MAX_PER_PAIR = 10
PAIR_WINDOW_SECS = 600
MAX_DEPTH = 3
MAX_BODY_CHARS = 8000
MAX_ATTEMPTS = 3
STATUSES = ("pending", "delivering", "delivered", "failed")
OPERATOR = "user"


class LimitError(UsageError):
    category = "limit"


@dataclass
class Message:
    msg_id: int
    sender: str
    recipient: str
    body: str
    reply_to: int | None
    depth: int
    status: str
    created_at: str
    claimed_at: str | None = None
    delivered_at: str | None = None
    attempts: int = 0
    idle_seq: int | None = None  # the recipient's `agent.idle` event this delivery used
    error: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Message:
        return cls(**{k: row[k] for k in row.keys()})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_prompt(self) -> str:
        """What the recipient reads: who wrote, the text, and how to answer."""
        head = f"[message #{self.msg_id} from {self.sender}" + (f", reply to #{self.reply_to}" if self.reply_to else "")
        tail = "" if self.sender == OPERATOR else \
            f"\n(to answer: tt msg send {self.sender} --reply-to {self.msg_id} \"...\")"
        return f"{head}]\n{self.body}{tail}"


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _known(ws: Workspace, name: str, role: str) -> str:
    if ws.config.agent(name) is None:
        known = ", ".join(a.name for a in ws.config.agents) or "none"
        raise NotFoundError(f"{role} '{name}' is not an agent of workspace '{ws.name}'",
                            hint=f"agents: {known}")
    return name


def post(ws: Workspace, recipient: str, body: str, *, sender: str = OPERATOR,
         reply_to: int | None = None) -> Message:
    """Put a message in `recipient`'s inbox (checked against the loop caps)."""
    from tutti.store.db import now_iso

    _known(ws, recipient, "recipient")
    if sender != OPERATOR and not sender.startswith("run:"):
        _known(ws, sender, "sender")
    if sender == recipient:
        raise UsageError(f"an agent cannot message itself ('{sender}')", hint="name another agent as recipient")
    text = body.strip()
    if not text:
        raise UsageError("message is empty", hint=f'tt msg send {recipient} "what to tell it"')
    if len(text) > MAX_BODY_CHARS:
        raise UsageError(f"message is {len(text)} characters (at most {MAX_BODY_CHARS})",
                         hint="put long content in a file in the repo and send its path")
    with ws.store.transaction() as conn:
        depth = 0
        if reply_to is not None:
            parent = conn.execute("SELECT depth FROM messages WHERE msg_id = ?", (reply_to,)).fetchone()
            if parent is None:
                raise NotFoundError(f"message #{reply_to} does not exist", hint="tt msg list shows message ids")
            depth = parent["depth"] + 1
            if depth > MAX_DEPTH:
                raise LimitError(f"reply chain too deep: #{reply_to} is already {depth - 1} replies deep "
                                 f"(at most {MAX_DEPTH})", hint="end the exchange; the operator can start a new one")
        since = _iso(datetime.now(UTC) - timedelta(seconds=PAIR_WINDOW_SECS))
        count = conn.execute("SELECT COUNT(*) FROM messages WHERE sender = ? AND recipient = ? AND created_at > ?",
                             (sender, recipient, since)).fetchone()[0]
        if count >= MAX_PER_PAIR and sender != OPERATOR:
            raise LimitError(f"{sender} sent {recipient} {count} messages in the last {PAIR_WINDOW_SECS // 60} "
                             f"minutes (at most {MAX_PER_PAIR})", hint="wait, or let the operator step in")
        now = now_iso()
        msg_id = conn.execute(
            "INSERT INTO messages (sender, recipient, body, reply_to, depth, status, created_at) "
            "VALUES (?, ?, ?, ?, ?, 'pending', ?)", (sender, recipient, text, reply_to, depth, now)).lastrowid
        ws.store.append_event("message.posted", agent=recipient, conn=conn, data={
            "msg_id": msg_id, "sender": sender, "recipient": recipient, "reply_to": reply_to, "depth": depth,
            "chars": len(text)})
    return get(ws, msg_id)


def get(ws: Workspace, msg_id: int) -> Message:
    rows = ws.store.query("SELECT * FROM messages WHERE msg_id = ?", (msg_id,))
    if not rows:
        raise NotFoundError(f"message #{msg_id} does not exist", hint="tt msg list shows message ids")
    return Message.from_row(rows[0])


def list_messages(ws: Workspace, *, agent: str | None = None, status: str | None = None,
                  limit: int = 100) -> list[Message]:
    """Newest first; `agent` matches sender or recipient."""
    if status is not None and status not in STATUSES:
        raise UsageError(f"--status {status!r}: not a message status", hint=f"use one of: {', '.join(STATUSES)}")
    where, params = ["1=1"], []
    if agent:
        where.append("(sender = ? OR recipient = ?)")
        params += [agent, agent]
    if status:
        where.append("status = ?")
        params.append(status)
    rows = ws.store.query(f"SELECT * FROM messages WHERE {' AND '.join(where)} ORDER BY msg_id DESC LIMIT ?",
                          (*params, limit))
    return [Message.from_row(r) for r in rows]


# -- delivery bookkeeping (used by supervisor.inbox) ----------------------------------------------
def recipients_with_mail(ws: Workspace, *, reclaim_secs: float = 120.0) -> list[str]:
    """Agents with a pending message, or one stuck `delivering` (its deliverer died)."""
    stale = _iso(datetime.now(UTC) - timedelta(seconds=reclaim_secs))
    rows = ws.store.query("SELECT DISTINCT recipient FROM messages WHERE status = 'pending' "
                          "OR (status = 'delivering' AND claimed_at < ?)", (stale,))
    return [r["recipient"] for r in rows]


def idle_seq(ws: Workspace, agent: str) -> int | None:
    """The seq of the agent's last state event when that event is `agent.idle`, else None."""
    rows = ws.store.query("SELECT seq, kind FROM events WHERE agent = ? AND kind IN ('agent.idle', 'agent.working', "
                          "'agent.waiting', 'agent.auth_failed', 'agent.rate_limited', 'agent.provider_down', "
                          "'agent.stopped', 'agent.unknown') ORDER BY seq DESC LIMIT 1", (agent,))
    return rows[0]["seq"] if rows and rows[0]["kind"] == "agent.idle" else None


def claim_next(ws: Workspace, recipient: str, idle: int, *, reclaim_secs: float = 120.0) -> Message | None:
    """Claim the oldest deliverable message for `recipient`, idle since event `idle` — exactly one
    process wins it, and one idle turn takes one message (the next waits for the next idle)."""
    from tutti.store.db import now_iso

    stale = _iso(datetime.now(UTC) - timedelta(seconds=reclaim_secs))
    with ws.store.transaction() as conn:
        used = conn.execute("SELECT 1 FROM messages WHERE recipient = ? AND idle_seq >= ? AND status IN "
                            "('delivering', 'delivered')", (recipient, idle)).fetchone()
        if used is not None:
            return None
        row = conn.execute("SELECT * FROM messages WHERE recipient = ? AND (status = 'pending' OR "
                           "(status = 'delivering' AND claimed_at < ?)) ORDER BY msg_id LIMIT 1",
                           (recipient, stale)).fetchone()
        if row is None:
            return None
        conn.execute("UPDATE messages SET status = 'delivering', claimed_at = ?, attempts = attempts + 1, "
                     "idle_seq = ? WHERE msg_id = ?", (now_iso(), idle, row["msg_id"]))
    return get(ws, row["msg_id"])


def mark_delivered(ws: Workspace, msg: Message, delivery: dict[str, Any] | None) -> None:
    from tutti.store.db import now_iso

    with ws.store.transaction() as conn:
        conn.execute("UPDATE messages SET status = 'delivered', delivered_at = ?, error = NULL WHERE msg_id = ?",
                     (now_iso(), msg.msg_id))
        ws.store.append_event("message.delivered", agent=msg.recipient, conn=conn, data={
            "msg_id": msg.msg_id, "sender": msg.sender, "attempt": msg.attempts, "delivery": delivery})


def mark_failed(ws: Workspace, msg: Message, error: str) -> None:
    """A failed attempt: back to pending, or `failed` after MAX_ATTEMPTS."""
    final = msg.attempts >= MAX_ATTEMPTS
    with ws.store.transaction() as conn:
        conn.execute("UPDATE messages SET status = ?, error = ? WHERE msg_id = ?",
                     ("failed" if final else "pending", error[:500], msg.msg_id))
        ws.store.append_event("message.delivery_failed", agent=msg.recipient, conn=conn, data={
            "msg_id": msg.msg_id, "attempt": msg.attempts, "final": final, "error": error[:500]})
