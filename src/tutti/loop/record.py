"""What the loop has done for a work item, read back from the event spine.

Every phase of an item appends one `loop.*` event carrying the item's `key` before the next
phase starts (`loop.item.started` with the run id, `loop.fix.started` with the fix run id and
its text, `loop.item.landed` with the merge head, …). A lane that takes over a crashed lane's
item reads this record and continues from the first phase without an outcome: no run is
started twice, no PR opened twice, no comment posted twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutti.store import Store


@dataclass
class ItemRecord:
    key: str
    run_id: str | None = None  # the item's workflow run (latest attempt)
    agent: str | None = None  # the lane agent whose worktree holds the work
    lane: str | None = None
    pr: dict[str, Any] | None = None  # {"number": N, "url": ...}
    fixes: dict[int, dict[str, Any]] = field(default_factory=dict)  # round -> {"run_id", "text", "finished"}
    approval_id: str | None = None
    landed: dict[str, Any] | None = None  # {"head": sha, ...}
    closed: bool = False
    finished: str | None = None  # merged | failed (of the latest attempt)
    attempts: int = 0

    @property
    def in_progress(self) -> bool:
        return self.run_id is not None and self.finished is None

    @property
    def last_fix_round(self) -> int:
        return max(self.fixes, default=0)


def record(store: Store, kind: str, key: str, *, run_id: str | None = None, agent: str | None = None,
           **data: Any) -> None:
    store.append_event(kind, run_id=run_id, agent=agent, data={"key": key, **data})


def load(store: Store, key: str) -> ItemRecord:
    """The latest attempt's facts (an attempt starts at `loop.item.started`)."""
    rows = store.query("SELECT kind, run_id, agent, data FROM events WHERE kind LIKE 'loop.%' "
                       "AND json_extract(data, '$.key') = ? ORDER BY seq", (key,))
    rec = ItemRecord(key)
    for row in rows:
        _apply(rec, row["kind"], row["run_id"], row["agent"], json.loads(row["data"] or "{}"))
    return rec


def _apply(rec: ItemRecord, kind: str, run_id: str | None, agent: str | None, data: dict[str, Any]) -> None:
    if kind == "loop.item.started":
        landed, closed, pr = rec.landed, rec.closed, rec.pr  # facts outside our repo survive an attempt
        rec.__init__(rec.key)  # type: ignore[misc]
        rec.landed, rec.closed, rec.pr = landed, closed, pr
        rec.run_id, rec.agent, rec.lane = run_id, agent, data.get("lane")
        rec.attempts = data.get("attempt", 1)
    elif kind == "loop.pr.opened":
        rec.pr = {k: v for k, v in data.items() if k != "key"}  # number, url, head
    elif kind == "loop.fix.started":
        rec.fixes[int(data["round"])] = {"run_id": run_id, "text": data.get("text", ""), "finished": False}
    elif kind == "loop.fix.finished" and int(data.get("round", 0)) in rec.fixes:
        rec.fixes[int(data["round"])]["finished"] = True
    elif kind == "loop.approval.requested":
        rec.approval_id = data.get("approval_id")
    elif kind == "loop.item.landed":
        rec.landed = {k: v for k, v in data.items() if k != "key"}
    elif kind == "loop.item.closed":
        rec.closed = True
    elif kind == "loop.item.finished":
        rec.finished = data.get("status")


def started_items(store: Store) -> list[str]:
    rows = store.query("SELECT DISTINCT json_extract(data, '$.key') AS key FROM events WHERE kind = 'loop.item.started'")
    return [r["key"] for r in rows if r["key"]]


def last_outcomes(store: Store, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Each item's latest loop outcome (`loop.item.finished`): {key: {"status", "message", "at"}}
    — what `tt queue` shows next to an item the loop left open (no_change, failed)."""
    if not keys:
        return {}
    marks = ",".join("?" * len(keys))
    rows = store.query(
        "SELECT json_extract(data, '$.key') AS key, json_extract(data, '$.status') AS status, "
        "json_extract(data, '$.message') AS message, ts FROM events WHERE kind = 'loop.item.finished' "
        f"AND json_extract(data, '$.key') IN ({marks}) ORDER BY seq", tuple(keys))
    return {r["key"]: {"status": r["status"], "message": r["message"] or "", "at": r["ts"]} for r in rows}
