"""`tt queue`: the local work-item queue in the workspace store (an intake source of kind
`queue`). Adding works without any `[[intake]]` table; the loop picks items up when one of
kind `queue` is configured."""

from __future__ import annotations

from typing import Any

from tutti.intake import leases, local
from tutti.intake.base import WorkItem
from tutti.workspace import Workspace


def add(ws: Workspace, title: str, *, body: str = "", labels: list[str] | None = None,
        author: str | None = None) -> WorkItem:
    import getpass

    item, _ = local.add_item(ws.store, "queue", title, body=body, labels=labels, author=author or getpass.getuser())
    return item


def unseen_warning(ws: Workspace) -> str | None:
    """Queue items reach `tt loop` and `tt intake list` only through an `[[intake]] kind = "queue"`;
    without one an added item sits where nothing reads it, so say so when adding."""
    if any(i.kind == "queue" for i in ws.config.intake or ()):
        return None
    return (f"no [[intake]] of kind \"queue\" in {ws.config_path}: `tt loop` and `tt intake list` will not see "
            "this item — add [[intake]] name = \"todo\" kind = \"queue\"")


def list_items(ws: Workspace, *, state: str = "open", labels: list[str] | None = None, limit: int = 100) -> list[dict[str, Any]]:
    items = local.list_items(ws.store, "queue", state=state, labels=labels, limit=limit)
    outcomes = _loop_outcomes(ws, [i.key for i in items])
    return [_view(ws, i, outcomes) for i in items]


def show(ws: Workspace, item_id: str) -> dict[str, Any]:
    item = local.get_item(ws.store, "queue", item_id)
    view = _view(ws, item, _loop_outcomes(ws, [item.key]))
    view["comments"] = local.comments(ws.store, "queue", item_id)
    return view


def drop(ws: Workspace, item_id: str) -> WorkItem:
    """Take an item off the queue (kept as `dropped` for the record, never claimed again)."""
    return local.set_state(ws.store, "queue", item_id, "dropped")


def _loop_outcomes(ws: Workspace, keys: list[str]) -> dict[str, dict[str, Any]]:
    from tutti.loop.record import last_outcomes

    return last_outcomes(ws.store, keys)


def _view(ws: Workspace, item: WorkItem, outcomes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    d = item.to_dict()
    d["state"] = item.data.get("state", "open")
    lease = leases.get(ws.store, item.key)
    d["claimed_by"] = lease.holder if lease is not None and lease.active else None
    # The loop's last word on it: why an open item is still open (no_change, failed) — None
    # when the loop never finished an attempt on it.
    d["loop"] = outcomes.get(item.key)
    return d
