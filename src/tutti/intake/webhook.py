"""Webhook intake: events POSTed to `/v1/webhooks/...` that match an `[[intake]]` of kind
`webhook` are stored as work items (`store_event`), deduplicated by their delivery key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tutti.intake import local
from tutti.intake.base import WorkItem
from tutti.intake.queue import StoredItems

if TYPE_CHECKING:
    from tutti.workspace import Workspace


class WebhookItems(StoredItems):
    kind = "webhook"
    stored_as = "webhook"

    def list_open(self, *, limit: int = 100) -> list[WorkItem]:
        """Only the deliveries this intake's source/events match (several webhook intakes may
        share the store)."""
        items = super().list_open(limit=100000)
        if self.cfg is not None:
            items = [i for i in items if _matches(self.cfg, i.data.get("source", ""), i.data.get("event", ""),
                                                  i.data.get("payload"))]
        return items[:limit]


def _dig(payload: Any, path: str) -> Any:
    cur = payload
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _first(payload: Any, *paths: str) -> Any:
    for p in paths:
        value = _dig(payload, p)
        if value not in (None, ""):
            return value
    return None


def item_fields(source: str, event: str, payload: Any) -> dict[str, Any]:
    """Map a webhook payload onto work-item fields. GitHub issue/PR payloads, Linear and Jira
    webhooks are recognised; anything else uses `title`/`body` keys or the event name."""
    title = _first(payload, "issue.title", "pull_request.title", "data.title", "issue.fields.summary", "title")
    body = _first(payload, "issue.body", "pull_request.body", "data.description", "issue.fields.description",
                  "body", "description")
    url = _first(payload, "issue.html_url", "pull_request.html_url", "data.url", "issue.self", "url")
    author = _first(payload, "issue.user.login", "pull_request.user.login", "sender.login", "data.creator.name",
                    "user.displayName", "author")
    raw_labels = _first(payload, "issue.labels", "pull_request.labels", "data.labels", "issue.fields.labels", "labels") or []
    labels = [str(lab.get("name")) if isinstance(lab, dict) else str(lab) for lab in raw_labels if lab]
    return {"title": str(title or f"{source} {event}"), "body": str(body or ""), "url": url,
            "author": str(author) if author else None, "labels": labels}


def store_event(ws: Workspace, *, delivery: str, source: str, event: str, payload: Any) -> tuple[WorkItem, bool]:
    """Store one webhook delivery as a work item (idempotent per delivery key)."""
    fields = item_fields(source, event, payload)
    return local.add_item(ws.store, "webhook", fields.pop("title"), item_id=delivery,
                          data={"source": source, "event": event, "payload": payload}, **fields)


def _matches(cfg: Any, source: str, event: str, payload: Any) -> bool:
    if cfg.kind != "webhook" or cfg.source not in (source, "*"):
        return False
    action = payload.get("action") if isinstance(payload, dict) else None
    names = {event, f"{event}.{action}"} if action else {event}
    return not cfg.events or "*" in cfg.events or bool(names & set(cfg.events))


def ingest(ws: Workspace, *, source: str, event: str, payload: Any, delivery: str | None, raw: bytes) -> list[dict[str, Any]]:
    """Store a delivery as a work item once per matching `[[intake]]` of kind webhook (none
    matching: nothing stored). Without a delivery id, identical bodies are one item."""
    import hashlib

    matching = [c for c in getattr(ws.config, "intake", []) if _matches(c, source, event, payload)]
    if not matching:
        return []
    key = f"{source}:{delivery}" if delivery else f"{source}:hash:{hashlib.sha256(raw).hexdigest()[:16]}"
    item, created = store_event(ws, delivery=key, source=source, event=event, payload=payload)
    return [{"intake": c.name, "key": item.key, "id": item.id, "created": created} for c in matching]
