"""The local queue intake (`tt queue add|list|show|drop`): work items typed in by a person or
a script, kept in the workspace store — no external system needed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tutti.intake import local
from tutti.intake.base import SourceBase, WorkItem

if TYPE_CHECKING:
    from tutti.workspace import Workspace


class StoredItems(SourceBase):
    """An intake over `intake_items` rows of one source kind."""

    stored_as = "queue"

    def __init__(self, ws: Workspace, cfg: Any = None) -> None:
        self.ws, self.cfg = ws, cfg
        self.name = getattr(cfg, "name", None) or self.kind
        self.labels = list(getattr(cfg, "labels", None) or [])

    def _tag(self, item: WorkItem) -> WorkItem:
        return WorkItem(**{**item.__dict__, "intake": self.name})

    def list_open(self, *, limit: int = 100) -> list[WorkItem]:
        return [self._tag(i) for i in local.list_items(self.ws.store, self.stored_as, labels=self.labels, limit=limit)]

    def get(self, item_id: str) -> WorkItem | None:
        try:
            return self._tag(local.get_item(self.ws.store, self.stored_as, item_id))
        except Exception:  # noqa: BLE001 - NotFound means None here
            return None

    def comment(self, item: WorkItem, body: str) -> str | None:
        return local.add_comment(self.ws.store, self.stored_as, item.id, body)

    def close(self, item: WorkItem, comment: str | None = None) -> None:
        if comment:
            self.comment(item, comment)
        local.set_state(self.ws.store, self.stored_as, item.id, "done")


class LocalQueue(StoredItems):
    kind = "queue"
    stored_as = "queue"
