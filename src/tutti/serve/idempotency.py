"""Idempotency keys, stored atomically in the workspace store (table `idempotency`).

`claim()` INSERTs a `pending` row inside a write transaction; the PRIMARY KEY guarantees only one
of N concurrent requests with the same key wins. The winner executes and `complete()`s the row with
its envelope; the others wait for that row and return the stored envelope without executing. A key
reused for another action is a 409; reused for the same action with a different request body it is
a 422 (as IETF's Idempotency-Key draft and Stripe answer), never a silent replay of the first. Failed executions release the key (only successes are
remembered, so a client may retry). Rows expire (24 h by default) and expired rows are pruned on
every claim — unlike the original's never-pruned JSON file with a check-then-write race.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tutti.serve.envelope import ApiError

if TYPE_CHECKING:
    from tutti.store import Store

DEFAULT_TTL = timedelta(hours=24)
# A pending row older than this belongs to a server that died mid-request; it may be taken over.
STALE_PENDING = timedelta(minutes=30)
WAIT_POLL_SECS = 0.02


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Stored:
    status: int
    body: dict[str, Any]


def fingerprint(payload: Any) -> str:
    """A stable digest of a request body (bytes as sent, or a JSON-able value in canonical form)."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()


def claim(store: Store, key: str, action: str, *, fingerprint: str | None = None,
          ttl: timedelta = DEFAULT_TTL, wait_timeout: float = 3600.0) -> Stored | None:
    """None → the caller owns the key and must `complete()` or `release()` it.
    A Stored → a previous request with this key already succeeded: return its envelope.
    `fingerprint` (of the request body) is kept with the key: a later request under the same key
    with another fingerprint is refused with 422."""
    deadline = time.monotonic() + wait_timeout
    while True:
        now = datetime.now(UTC)
        with store.transaction() as conn:
            conn.execute("DELETE FROM idempotency WHERE expires_at < ?", (_iso(now),))
            try:
                # While pending, `response` holds only the body's fingerprint (no schema change needed).
                conn.execute(
                    "INSERT INTO idempotency (key, action, state, response, created_at, expires_at) "
                    "VALUES (?, ?, 'pending', ?, ?, ?)",
                    (key, action, json.dumps({"fingerprint": fingerprint}), _iso(now), _iso(now + ttl)),
                )
                return None
            except sqlite3.IntegrityError:
                row = conn.execute("SELECT * FROM idempotency WHERE key = ?", (key,)).fetchone()
            if row is not None and row["state"] == "pending" and row["created_at"] < _iso(now - STALE_PENDING):
                conn.execute("UPDATE idempotency SET created_at = ?, expires_at = ?, response = ? WHERE key = ?",
                             (_iso(now), _iso(now + ttl), json.dumps({"fingerprint": fingerprint}), key))
                return None
        if row is None:
            continue  # released between our INSERT and SELECT: try to claim again
        if row["action"] != action:
            raise ApiError(409, "idempotency_conflict",
                           f"idempotency key '{key}' was already used for action '{row['action']}'", action=action)
        stored = json.loads(row["response"]) if row["response"] else {}
        if fingerprint and stored.get("fingerprint") and stored["fingerprint"] != fingerprint:
            raise ApiError(422, "idempotency_mismatch",
                           f"idempotency key '{key}' was already used for a different '{action}' request body "
                           "(use a new key for a new request)", action=action)
        if row["state"] == "done":
            return Stored(stored["status"], stored["body"])
        if time.monotonic() > deadline:
            raise ApiError(409, "idempotency_conflict",
                           f"a request with idempotency key '{key}' is still in progress", action=action)
        time.sleep(WAIT_POLL_SECS)


def complete(conn: sqlite3.Connection, key: str, status: int, body: dict[str, Any]) -> None:
    """Store the envelope inside the caller's transaction (with the event that records the action)."""
    row = conn.execute("SELECT response FROM idempotency WHERE key = ?", (key,)).fetchone()
    pending = json.loads(row["response"]) if row is not None and row["response"] else {}
    conn.execute("UPDATE idempotency SET state = 'done', response = ? WHERE key = ?",
                 (json.dumps({"status": status, "body": body, "fingerprint": pending.get("fingerprint")}), key))


def release(store: Store, key: str) -> None:
    with store.transaction() as conn:
        conn.execute("DELETE FROM idempotency WHERE key = ? AND state = 'pending'", (key,))


def key_from(header: str | None, body_key: str | None) -> str | None:
    for candidate in (header, body_key):
        if candidate and candidate.strip():
            return candidate.strip()[:200]
    return None
