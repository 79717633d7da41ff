"""GitHub issues as work items (`[[intake]] kind = "github"`): open issues of `repo` carrying
every label in `labels` (and in `milestone`, when set), oldest first. Pull requests are not
work items. Claiming adds the `automation-claimed` label as a sign for humans and for
`tt issue-claim` runs elsewhere; the lock itself is the store lease."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from tutti.intake.base import SourceBase, WorkItem
from tutti.intake.issue_claim import CLAIM_LABEL

if TYPE_CHECKING:
    from tutti.forge.github import GitHub
    from tutti.workspace import Workspace


class GitHubIssues(SourceBase):
    kind = "github"

    def __init__(self, ws: Workspace, cfg: Any) -> None:
        self.ws, self.cfg, self.name = ws, cfg, cfg.name

    @cached_property
    def gh(self) -> GitHub:
        from tutti.forge.github import GitHub

        return GitHub.for_checkout(self.ws.root, self.cfg.repo, api_url=self.cfg.api_url, token_env=self.cfg.token_env,
                                   settings=self.ws.config.github)

    def _item(self, issue: dict[str, Any]) -> WorkItem:
        labels = tuple(lab["name"] if isinstance(lab, dict) else str(lab) for lab in issue.get("labels") or [])
        return WorkItem(source="github", id=str(issue["number"]), title=issue.get("title") or "", body=issue.get("body") or "",
                        labels=labels, url=issue.get("html_url"), author=(issue.get("user") or {}).get("login"),
                        created_at=issue.get("created_at"), scope=self.gh.repo, intake=self.name,
                        data={"number": int(issue["number"]), "milestone": (issue.get("milestone") or {}).get("title")})

    def list_open(self, *, limit: int = 100) -> list[WorkItem]:
        issues = self.gh.list_issues(labels=list(self.cfg.labels), milestone=self.cfg.milestone, limit=limit)
        return [self._item(i) for i in issues]

    def get(self, item_id: str) -> WorkItem | None:
        from tutti.forge.http import ForgeHTTPError

        try:
            issue = self.gh.get_issue(int(item_id))
        except (ForgeHTTPError, ValueError):
            return None
        return None if "pull_request" in issue else self._item(issue)

    def comment(self, item: WorkItem, body: str) -> str | None:
        return self.gh.comment(int(item.id), body).get("html_url")

    def close(self, item: WorkItem, comment: str | None = None) -> None:
        if comment:
            self.comment(item, comment)
        self.gh.close_issue(int(item.id))

    def mark_claimed(self, item: WorkItem, holder: str) -> None:
        self.gh.add_labels(int(item.id), [CLAIM_LABEL])

    def mark_released(self, item: WorkItem) -> None:
        self.gh.remove_label(int(item.id), CLAIM_LABEL)
