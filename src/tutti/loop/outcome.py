"""What became of a work item in a lane, and the error that ends its attempt."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tutti.errors import TuttiError


class ItemFailed(TuttiError):
    """The item cannot be merged by the loop (a failed run, changes still requested, a denial)."""


class NoChange(ItemFailed):
    """The lane produced nothing to land (no commit, or only content the target already has):
    the item is not merged nor closed; it goes back open with a comment saying why."""


@dataclass
class ItemResult:
    key: str
    status: str  # merged | no_change (nothing to land, item left open) | failed | lost (lease lost) | cancelled
    lane: str
    agent: str
    run_id: str | None = None
    rounds: int = 0  # review rounds it took
    head: str | None = None
    pr: dict[str, Any] | None = None
    resumed: bool = False
    message: str = ""
    fix_runs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)
