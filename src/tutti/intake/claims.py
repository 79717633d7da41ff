"""Claim the next free work item across intake sources, through store leases.

The loop driver calls `claim_next` once per free lane. A claim is a store lease keyed by the
item's `key` (see `tutti.intake.leases`): N claimants racing for M items each get a different
item, and every item is won by exactly one. The source is told (`mark_claimed`) only after the
lease is won, so the label on a GitHub issue is a courtesy, never the lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tutti.intake import leases
from tutti.intake.base import IntakeSource, WorkItem

if TYPE_CHECKING:
    from tutti.store import Store


@dataclass
class Claim:
    item: WorkItem
    lease: leases.Lease
    source: IntakeSource

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item.to_dict(), "lease": self.lease.to_dict(), "source": self.source.name}

    def heartbeat(self, store: Store, ttl: float = leases.DEFAULT_TTL_SECS) -> leases.Lease:
        self.lease = leases.heartbeat(store, self.item.key, self.lease.holder, self.lease.fencing_token, ttl)
        return self.lease

    def assert_held(self, store: Store) -> leases.Lease:
        """Raise `LeaseLost` when this claim's fencing token is no longer the current one."""
        return leases.assert_held(store, self.item.key, self.lease.holder, self.lease.fencing_token)

    def release(self, store: Store, *, reason: str = "released") -> bool:
        done = leases.release(store, self.item.key, self.lease.holder, self.lease.fencing_token, reason=reason)
        try:
            self.source.mark_released(self.item)
        except Exception:  # noqa: BLE001 - the courtesy label must not undo a release
            pass
        return done


def claim_next(store: Store, sources: list[IntakeSource], holder: str, *, ttl: float = leases.DEFAULT_TTL_SECS,
               skip: set[str] | None = None, limit: int = 100) -> Claim | None:
    """The first open item (sources in order, items oldest first) whose lease `holder` wins;
    None when every open item is held by someone else (or in `skip`, e.g. already done)."""
    for source in sources:
        for item in source.list_open(limit=limit):
            if skip and item.key in skip:
                continue
            lease = leases.acquire(store, item.key, holder, ttl, data={"intake": source.name, "title": item.title})
            if lease is None:
                continue
            try:
                source.mark_claimed(item, holder)
            except Exception:  # noqa: BLE001 - the lease is the claim; the label is advisory
                pass
            return Claim(item, lease, source)
    return None
