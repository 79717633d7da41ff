"""What the loop needs from a forge for an item's pull request (GitHub or the scripted forge):
open it, read its reviews as findings, and record the merge. `None` = no forge, local only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tutti.intake.base import WorkItem
    from tutti.loop.review import Finding


class ForgeLink(Protocol):
    def open_pr(self, item: WorkItem, branch: str) -> dict[str, Any]:
        """Push `branch` and open (or find the already open) PR for it: {"number", "url"}."""

    def review_findings(self, pr: dict[str, Any], bots: list[str]) -> list[Finding]:
        """Unresolved review threads and change requests on the PR, as findings."""

    def record_merged(self, pr: dict[str, Any], head: str) -> None:
        """The merge queue landed the PR's change as `head` on the target: close the PR as merged."""

    def merge_url(self, head: str) -> str:
        """A link to the landed commit."""
