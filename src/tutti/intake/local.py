"""Work items kept in the workspace store: the local queue and stored webhook events.

Rows of `intake_items` (source `queue` or `webhook`). Queue ids are the row's sequence number
(`tt queue show 3`); webhook items use the delivery's dedup key, so a redelivered webhook
never becomes a second item.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tutti.errors import NotFoundError, UsageError
from tutti.intake.base import WorkItem

if TYPE_CHECKING:
    import sqlite3

    from tutti.store import Store

STATES = ("open", "done", "dropped")


def _item(row: sqlite3.Row, scope: str) -> WorkItem:
    data = json.loads(row["data"] or "{}")
    data.update(state=row["state"], closed_at=row["closed_at"])
    return WorkItem(source=row["source"], id=row["item_id"], title=row["title"], body=row["body"],
                    labels=tuple(json.loads(row["labels"] or "[]")), url=row["url"], author=row["author"],
                    created_at=row["created_at"], scope=scope, data=data)


def add_item(store: Store, source: str, title: str, *, body: str = "", labels: list[str] | None = None,
             url: str | None = None, author: str | None = None, item_id: str | None = None,
             data: dict[str, Any] | None = None) -> tuple[WorkItem, bool]:
    """Insert an item; returns (item, created). With an `item_id` already stored, the stored
    item comes back and created is False (idempotent redelivery)."""
    from tutti.store.db import now_iso

    if not title.strip():
        raise UsageError("a work item needs a title", hint="tt queue add \"Fix the login bug\" --body ...")
    scope = store.workspace or ""
    with store.transaction() as conn:
        if item_id is not None:
            row = conn.execute("SELECT * FROM intake_items WHERE source = ? AND item_id = ?", (source, item_id)).fetchone()
            if row is not None:
                return _item(row, scope), False
        cur = conn.execute(
            "INSERT INTO intake_items (source, item_id, title, body, labels, url, author, created_at, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (source, item_id or "", title.strip(), body, json.dumps(list(labels or [])), url, author, now_iso(),
             json.dumps(data or {}, default=str)))
        seq = cur.lastrowid
        if item_id is None:
            conn.execute("UPDATE intake_items SET item_id = ? WHERE seq = ?", (str(seq), seq))
        row = conn.execute("SELECT * FROM intake_items WHERE seq = ?", (seq,)).fetchone()
        store.append_event("intake.item_added", data={"source": source, "id": row["item_id"], "title": title}, conn=conn)
    return _item(row, scope), True


def list_items(store: Store, source: str, *, state: str | None = "open", labels: list[str] | None = None,
               limit: int = 100) -> list[WorkItem]:
    sql, params = "SELECT * FROM intake_items WHERE source = ?", [source]
    if state and state != "all":
        sql += " AND state = ?"
        params.append(state)
    sql += " ORDER BY seq LIMIT ?"
    params.append(max(1, limit) if not labels else 100000)
    items = [_item(r, store.workspace or "") for r in store.query(sql, tuple(params))]
    if labels:
        items = [i for i in items if set(labels) <= set(i.labels)][:limit]
    return items


def get_item(store: Store, source: str, item_id: str) -> WorkItem:
    rows = store.query("SELECT * FROM intake_items WHERE source = ? AND item_id = ?", (source, str(item_id)))
    if not rows:
        raise NotFoundError(f"no {source} item '{item_id}'", hint="list them with `tt queue list --all`" if source == "queue" else None)
    return _item(rows[0], store.workspace or "")


def set_state(store: Store, source: str, item_id: str, state: str) -> WorkItem:
    from tutti.store.db import now_iso

    if state not in STATES:
        raise UsageError(f"unknown item state '{state}'", hint=f"one of {', '.join(STATES)}")
    get_item(store, source, item_id)
    with store.transaction() as conn:
        conn.execute("UPDATE intake_items SET state = ?, closed_at = ? WHERE source = ? AND item_id = ?",
                     (state, None if state == "open" else now_iso(), source, str(item_id)))
        store.append_event(f"intake.item_{state}", data={"source": source, "id": str(item_id)}, conn=conn)
    return get_item(store, source, item_id)


def add_comment(store: Store, source: str, item_id: str, body: str, *, author: str | None = "tutti") -> str:
    from tutti.store.db import now_iso

    with store.transaction() as conn:
        cid = conn.execute("INSERT INTO intake_comments (source, item_id, author, body, created_at) VALUES (?, ?, ?, ?, ?)",
                           (source, str(item_id), author, body, now_iso())).lastrowid
    return str(cid)


def comments(store: Store, source: str, item_id: str) -> list[dict[str, Any]]:
    rows = store.query("SELECT * FROM intake_comments WHERE source = ? AND item_id = ? ORDER BY comment_id",
                       (source, str(item_id)))
    return [dict(r) for r in rows]
