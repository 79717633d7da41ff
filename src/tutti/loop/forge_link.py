"""What the loop needs from a forge for an item's pull request (GitHub or the scripted forge):
open it, read its reviews as findings, and record the merge. `None` = no forge, local only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tutti.intake.base import IntakeSource, WorkItem
    from tutti.loop.review import Finding


class ForgeLink(Protocol):
    def open_pr(self, item: WorkItem, branch: str) -> dict[str, Any]:
        """Push `branch` and open (or find the already open) PR for it: {"number", "url"}."""

    def update_pr(self, pr: dict[str, Any], branch: str) -> None:
        """Push the lane's branch (after a fix round) to the PR's head."""

    def addressed(self, findings: list[Finding]) -> None:
        """The author fixed these findings: resolve their threads."""

    def close_item(self, source: IntakeSource, item: WorkItem, body: str) -> None:
        """Close the item with one comment `body` (never posted twice)."""

    def comment_item(self, source: IntakeSource, item: WorkItem, body: str, *, marker: str,
                     pr: dict[str, Any] | None = None) -> None:
        """Comment on the item (and its PR) without closing it; a comment with `marker` is not repeated."""

    def review_findings(self, pr: dict[str, Any], bots: list[str], wait_secs: float = 0.0) -> list[Finding]:
        """Unresolved review threads and change requests on the PR, as findings."""

    def record_merged(self, pr: dict[str, Any], head: str) -> None:
        """The merge queue landed the PR's change as `head` on the target: close the PR as merged."""

    def merged_as(self, pr: dict[str, Any]) -> str | None:
        """The PR's merge commit when the forge has merged it, else None."""

    def merge_url(self, head: str) -> str:
        """A link to the landed commit."""
