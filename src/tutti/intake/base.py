"""The normalized work item and the intake-source interface every adapter implements.

A *work item* is one unit of work taken in from somewhere — a GitHub issue, a Linear issue, a
Jira issue, an entry of the local queue (`tt queue add`), a webhook event. Every adapter maps
its own shape onto `WorkItem`, so the loop driver, claims and templates (`{{item.title}}`) see
one vocabulary. `WorkItem.key` is stable and globally unique across sources
(`github:owner/repo#12`, `linear:ENG#ENG-4`, `jira:PROJ#PROJ-7`, `queue:ws#3`,
`webhook:ws#<delivery>`): claim leases are keyed by it.

An *intake source* is a configured adapter instance (`[[intake]]` in tutti.toml). Sources are
built by kind through a small registry (`register_source`, `build_source`) so new kinds plug
in without touching callers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from tutti.adapters import Registry
from tutti.errors import ConfigError

if TYPE_CHECKING:
    from tutti.workspace import Workspace


@dataclass(frozen=True)
class WorkItem:
    source: str  # the adapter kind: github | linear | jira | queue | webhook
    id: str  # the id inside the source: "12", "ENG-4", "PROJ-7", "3"
    title: str
    body: str = ""
    labels: tuple[str, ...] = ()
    url: str | None = None
    author: str | None = None
    created_at: str | None = None  # RFC3339 UTC as the source reports it
    scope: str = ""  # where the id is unique: owner/repo, Linear team, Jira project, workspace
    intake: str | None = None  # the configured `[[intake]]` name this item came through
    data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)  # source extras

    @property
    def key(self) -> str:
        """Stable, globally unique: the lease key and the dedup key of the loop."""
        return f"{self.source}:{self.scope}#{self.id}" if self.scope else f"{self.source}:{self.id}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["labels"] = list(self.labels)
        d["key"] = self.key
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WorkItem:
        return cls(source=str(d["source"]), id=str(d["id"]), title=str(d.get("title") or ""),
                   body=str(d.get("body") or ""), labels=tuple(d.get("labels") or ()),
                   url=d.get("url"), author=d.get("author"), created_at=d.get("created_at"),
                   scope=str(d.get("scope") or ""), intake=d.get("intake"), data=dict(d.get("data") or {}))


@runtime_checkable
class IntakeSource(Protocol):
    """What the loop needs from a place work comes from. Implementations raise `TuttiError`
    subclasses (ForgeError for remote trouble) — never a bare exception."""

    name: str  # the `[[intake]]` name
    kind: str  # github | linear | jira | queue | webhook

    def list_open(self, *, limit: int = 100) -> list[WorkItem]:
        """Open items matching the source's filters (labels, milestone, JQL ...), oldest first."""

    def get(self, item_id: str) -> WorkItem | None:
        """One item by its id inside the source (None when it does not exist)."""

    def comment(self, item: WorkItem, body: str) -> str | None:
        """Post a comment on the item; returns the comment's id or URL when the source has one."""

    def close(self, item: WorkItem, comment: str | None = None) -> None:
        """Mark the item done (close the issue / transition to Done / mark the queue entry
        done), posting `comment` first when given. Closing a closed item is not an error."""

    def mark_claimed(self, item: WorkItem, holder: str) -> None:
        """Make a claim visible in the source (GitHub: the `automation-claimed` label). The
        claim itself is the store lease; this is only a courtesy to humans. May be a no-op."""

    def mark_released(self, item: WorkItem) -> None:
        """Undo `mark_claimed`. May be a no-op."""


class SourceBase:
    """Defaults for the optional hooks, so a simple adapter implements only what it has."""

    name: str = ""
    kind: str = ""

    def get(self, item_id: str) -> WorkItem | None:
        return next((i for i in self.list_open(limit=1000) if i.id == str(item_id)), None)  # type: ignore[attr-defined]

    def mark_claimed(self, item: WorkItem, holder: str) -> None:
        return None

    def mark_released(self, item: WorkItem) -> None:
        return None


# -- registry ---------------------------------------------------------------------------------
# kind -> factory(ws, intake_config) -> IntakeSource (tutti.adapters.Registry; lazy paths, so an
# adapter's module and its HTTP client load only when that kind is configured).
SOURCES: Registry[IntakeSource] = Registry("intake kind", {
    "github": "tutti.intake.github:GitHubIssues",
    "linear": "tutti.intake.linear:LinearIssues",
    "jira": "tutti.intake.jira:JiraIssues",
    "queue": "tutti.intake.queue:LocalQueue",
    "webhook": "tutti.intake.webhook:WebhookItems",
})


def register_source(kind: str, factory: str | Callable[..., IntakeSource]) -> None:
    """Add an intake kind: `factory(ws, cfg)` or a lazy "module:attribute" path to one."""
    SOURCES.register(kind, factory)


def source_kinds() -> list[str]:
    return SOURCES.kinds()


def build_source(ws: Workspace, cfg: Any) -> IntakeSource:
    """The adapter for one `[[intake]]` table (`cfg.kind` picks it)."""
    return SOURCES.build(cfg.kind, ws, cfg, where=f"{ws.config_path}: intake '{cfg.name}' → kind")


def build_sources(ws: Workspace, names: list[str] | None = None) -> list[IntakeSource]:
    """Every configured intake source (or only those named), in config order."""
    configured = list(getattr(ws.config, "intake", None) or [])
    if names:
        known = {c.name for c in configured}
        missing = [n for n in names if n not in known]
        if missing:
            raise ConfigError(f"no [[intake]] named {', '.join(repr(m) for m in missing)} in {ws.config_path}",
                              hint=f"configured: {', '.join(sorted(known)) or 'none'}")
        configured = [c for c in configured if c.name in names]
    return [build_source(ws, c) for c in configured]
