"""Claim leases in the workspace store: who works on which item, until when.

A lease is a row of the store's `leases` table keyed by a work item's `key`. Every operation
runs in one `BEGIN IMMEDIATE` transaction, so any number of threads and processes may race:
for a key, at most one unexpired, unreleased lease exists at any moment.

Each successful `acquire` hands out a *fencing token* larger than every earlier token for that
key (a released or expired lease keeps its row, so the counter never goes back). Whatever a
holder does on the item's behalf should carry the token; a side effect from a holder whose
token is older than the current one is stale (its lease expired and someone else took over).

`heartbeat` extends a live lease and fails with `LeaseLost` once the lease expired or moved to
another holder; `release` ends it; `sweep` marks every expired lease released.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tutti.errors import PolicyError

if TYPE_CHECKING:
    import sqlite3

    from tutti.store import Store

DEFAULT_TTL_SECS = 1800  # the original's issue-claim TTL


class LeaseLost(PolicyError):
    """The lease expired or another holder owns the key now: stop working on the item."""


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Lease:
    key: str
    holder: str
    fencing_token: int
    acquired_at: str
    heartbeat_at: str
    expires_at: str
    released_at: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.released_at is None and self.expires_at > _iso(time.time())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["active"] = self.active
        return d

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Lease:
        return cls(key=row["name"], holder=row["holder"], fencing_token=int(row["fencing_token"] or 0),
                   acquired_at=row["acquired_at"], heartbeat_at=row["heartbeat_at"], expires_at=row["expires_at"],
                   released_at=row["released_at"], data=json.loads(row["data"] or "{}"))


def _row(conn: sqlite3.Connection, key: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM leases WHERE name = ?", (key,)).fetchone()


def acquire(store: Store, key: str, holder: str, ttl: float = DEFAULT_TTL_SECS, *,
            data: dict[str, Any] | None = None, now: float | None = None) -> Lease | None:
    """Take the lease on `key` for `holder`, or None when someone else holds it. The same
    holder acquiring again renews its lease and keeps its token."""
    t = time.time() if now is None else now
    stamp, expires = _iso(t), _iso(t + ttl)
    with store.transaction() as conn:
        row = _row(conn, key)
        live = row is not None and row["released_at"] is None and row["expires_at"] > stamp
        if live and row["holder"] != holder:
            return None
        if live:
            conn.execute("UPDATE leases SET heartbeat_at = ?, expires_at = ? WHERE name = ?", (stamp, expires, key))
            token = int(row["fencing_token"])
        else:
            token = (int(row["fencing_token"] or 0) if row else 0) + 1
            conn.execute(
                "INSERT INTO leases (name, holder, acquired_at, heartbeat_at, expires_at, data, fencing_token, released_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(name) DO UPDATE SET holder = excluded.holder,"
                " acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at,"
                " expires_at = excluded.expires_at, data = excluded.data, fencing_token = excluded.fencing_token,"
                " released_at = NULL",
                (key, holder, stamp, stamp, expires, json.dumps(data or {}), token))
            store.append_event("lease.acquired", data={"key": key, "holder": holder, "fencing_token": token,
                                                       "expires_at": expires}, conn=conn)
        return Lease.from_row(_row(conn, key))  # type: ignore[arg-type]


def heartbeat(store: Store, key: str, holder: str, token: int, ttl: float = DEFAULT_TTL_SECS, *,
              now: float | None = None) -> Lease:
    """Extend a live lease; `LeaseLost` when it expired, was released or belongs to another."""
    t = time.time() if now is None else now
    stamp = _iso(t)
    with store.transaction() as conn:
        row = _row(conn, key)
        if (row is None or row["holder"] != holder or int(row["fencing_token"]) != token
                or row["released_at"] is not None or row["expires_at"] <= stamp):
            raise LeaseLost(f"lease on {key} is no longer held by {holder} (token {token})",
                            hint="another claimant may own the item now; stop working on it")
        conn.execute("UPDATE leases SET heartbeat_at = ?, expires_at = ? WHERE name = ?", (stamp, _iso(t + ttl), key))
        return Lease.from_row(_row(conn, key))  # type: ignore[arg-type]


def assert_held(store: Store, key: str, holder: str, token: int) -> Lease:
    """The fencing check before a side effect on the item's behalf (close, comment, merge):
    `LeaseLost` unless `holder` still holds `key` with this very token and it has not expired."""
    lease = get(store, key)
    if lease is None or lease.holder != holder or lease.fencing_token != token or not lease.active:
        current = f"now held by {lease.holder} with token {lease.fencing_token}" if lease and lease.active else "expired"
        raise LeaseLost(f"lease on {key} (token {token}) is stale: {current}",
                        hint="another claimant may own the item now; do not act on it")
    return lease


def release(store: Store, key: str, holder: str, token: int | None = None, *, reason: str = "released") -> bool:
    """End `holder`'s lease on `key` (only that token's, when given). False if not held."""
    stamp = _iso(time.time())
    with store.transaction() as conn:
        row = _row(conn, key)
        if row is None or row["holder"] != holder or row["released_at"] is not None:
            return False
        if token is not None and int(row["fencing_token"]) != token:
            return False
        conn.execute("UPDATE leases SET released_at = ?, expires_at = MIN(expires_at, ?) WHERE name = ?",
                     (stamp, stamp, key))
        store.append_event("lease.released", data={"key": key, "holder": holder,
                                                   "fencing_token": int(row["fencing_token"]), "reason": reason}, conn=conn)
        return True


def sweep(store: Store, *, prefix: str | None = None, now: float | None = None) -> list[Lease]:
    """Mark every expired, unreleased lease released; returns the leases it ended."""
    stamp = _iso(time.time() if now is None else now)
    like = (prefix or "").replace("%", "") + "%"
    with store.transaction() as conn:
        rows = conn.execute("SELECT * FROM leases WHERE released_at IS NULL AND expires_at <= ? AND name LIKE ?",
                            (stamp, like)).fetchall()
        for row in rows:
            conn.execute("UPDATE leases SET released_at = ? WHERE name = ?", (stamp, row["name"]))
            store.append_event("lease.expired", data={"key": row["name"], "holder": row["holder"],
                                                      "fencing_token": int(row["fencing_token"])}, conn=conn)
    return [Lease.from_row(r) for r in rows]


def get(store: Store, key: str) -> Lease | None:
    rows = store.query("SELECT * FROM leases WHERE name = ?", (key,))
    return Lease.from_row(rows[0]) if rows else None


def list_leases(store: Store, *, prefix: str | None = None, active_only: bool = False) -> list[Lease]:
    like = (prefix or "").replace("%", "") + "%"
    leases = [Lease.from_row(r) for r in store.query("SELECT * FROM leases WHERE name LIKE ? ORDER BY name", (like,))]
    return [lease for lease in leases if lease.active] if active_only else leases
