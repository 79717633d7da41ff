"""The loop on GitHub (or the scripted forge): one pull request per item, review threads and
required checks as findings, and landing through the PR merge API.

Each item's work is pushed to its own head branch `tutti/item-<id>` (the lane's local branch
is reused from item to item). The merge queue verifies the squashed change on the target's
tip, then `ForgeLander` squash-merges the PR with `sha` = the verified branch tip: the same
three-way merge, so GitHub's commit has the verified tree, the PR shows as merged and its head
keeps the check runs branch protection asks for. Forge trouble that outlives the client's own retries (a long 5xx outage, a rate limit
longer than its wait) is waited out here (`patiently`) — the loop pauses, it does not fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tutti import proc
from tutti.errors import ForgeError, RoutingError
from tutti.loop.merge_queue import Change, TargetMoved
from tutti.loop.review import Finding

if TYPE_CHECKING:
    import threading

    from tutti.forge.github import GitHub
    from tutti.intake.base import IntakeSource, WorkItem
    from tutti.workspace import Workspace

T = TypeVar("T")
OUTAGE_WAIT_SECS = 900.0  # how long the loop waits out a forge outage before giving up on an item
CHECKS_WAIT_SECS = 600.0
MARKER = "<!-- tutti-loop item={key} -->"


def patiently(fn: Callable[[], T], *, cancel: threading.Event | None = None, budget: float = OUTAGE_WAIT_SECS,
              on_wait: Callable[[str, float], None] | None = None) -> T:
    """Call `fn`, waiting out server errors and rate limits (not 401/404/422: those are real)."""
    from tutti.forge.http import ForgeHTTPError

    deadline, delay = time.monotonic() + budget, 1.0
    while True:
        try:
            return fn()
        except ForgeHTTPError as exc:
            if exc.status < 500 and exc.status not in (403, 429):
                raise
            error = exc
        except ForgeError as exc:  # unreachable: connection refused, timeouts
            error = exc
        if time.monotonic() + delay > deadline:
            raise error
        if on_wait is not None:
            on_wait(error.message, delay)
        if cancel is not None and cancel.wait(delay):
            raise error
        if cancel is None:
            time.sleep(delay)
        delay = min(30.0, delay * 2)


def _git(cwd: Path, *args: str) -> proc.ProcResult:
    res = proc.run(["git", *args], cwd=cwd, timeout=300)
    if not res.ok:
        detail = (res.stderr.strip() or res.stdout.strip()).splitlines()
        raise RoutingError(f"git {' '.join(args[:2])} failed in {cwd}: {detail[-1] if detail else res.returncode}",
                           hint="check the remote and your credentials")
    return res


@dataclass
class GitHubLink:
    ws: Workspace
    gh: GitHub
    remote: str
    target: str
    on_wait: Callable[[str, float], None] | None = None
    _resolved: set[str] = field(default_factory=set)

    @classmethod
    def for_workspace(cls, ws: Workspace) -> GitHubLink:
        from tutti.forge.github import GitHub

        loop = ws.config.loop
        assert loop is not None and loop.remote
        cfg = next((c for c in ws.config.intake if c.kind == "github"), None)
        gh = GitHub.for_checkout(ws.root, getattr(cfg, "repo", None), api_url=getattr(cfg, "api_url", None),
                                 token_env=getattr(cfg, "token_env", None))
        return cls(ws, gh, loop.remote, loop.target,
                   on_wait=lambda why, secs: ws.store.append_event("loop.forge_wait", data={"error": why, "secs": secs}))

    def _call(self, fn: Callable[[], T]) -> T:
        return patiently(fn, on_wait=self.on_wait)

    # -- pull requests ---------------------------------------------------------------------------
    def head_branch(self, item: WorkItem) -> str:
        return f"tutti/item-{item.id}"

    def push(self, ref: str, branch: str) -> None:
        _git(self.ws.root, "push", "-q", "--force", self.remote, f"{ref}:refs/heads/{branch}")

    def open_pr(self, item: WorkItem, branch: str) -> dict[str, Any]:
        head = self.head_branch(item)
        self.push(branch, head)
        pr = self._call(lambda: self.gh.open_pr_for(head))  # a re-run never opens a second PR
        if pr is None:
            closes = f"Closes #{item.id}\n\n" if item.source == "github" else ""
            pr = self._call(lambda: self.gh.create_pr(head, self.target, item.title,
                                                      f"{closes}{item.url or item.key}\n\n{MARKER.format(key=item.key)}"))
        return {"number": pr.number, "url": pr.url, "head": head}

    def update_pr(self, pr: dict[str, Any], branch: str) -> None:
        self.push(branch, pr["head"])

    def review_findings(self, pr: dict[str, Any], bots: list[str], wait_secs: float = 0.0) -> list[Finding]:
        """Unresolved review threads (from anyone; `bots` only label them) and required checks.
        With `wait_secs`, first wait for a bot's first review of the PR (bots take minutes)."""
        if bots and wait_secs > 0:
            self._await_bot(pr, bots, wait_secs)
        findings: list[Finding] = []
        for thread in self._call(lambda: self.gh.review_threads(pr["number"])):
            if thread.get("isResolved") or thread.get("id") in self._resolved:
                continue
            comments = (thread.get("comments") or {}).get("nodes") or []
            first = comments[0] if comments else {}
            login = (first.get("author") or {}).get("login") or ""
            findings.append(Finding("bot" if not bots or login in bots else "review", first.get("body") or "",
                                    thread.get("path") or first.get("path"), thread.get("line"), ref=thread.get("id")))
        return findings + self._check_findings(pr)

    def _await_bot(self, pr: dict[str, Any], bots: list[str], wait_secs: float) -> None:
        deadline = time.monotonic() + wait_secs
        while time.monotonic() < deadline:
            reviews = self._call(lambda: self.gh.reviews(pr["number"]))
            if any((r.get("user") or {}).get("login") in bots for r in reviews):
                return
            time.sleep(0.5)

    def _check_findings(self, pr: dict[str, Any]) -> list[Finding]:
        required = self._call(lambda: self.gh.required_checks(self.target))
        if not required:
            return []
        deadline = time.monotonic() + CHECKS_WAIT_SECS
        while True:
            sha = self._call(lambda: self.gh.get_pr(pr["number"])).head_sha
            states = self._call(lambda: self.gh.check_states(sha))
            pending = [n for n in required if states.get(n, "pending") == "pending"]
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(2.0)
        return [Finding("ci", f"required check '{n}' is {states.get(n, 'missing')} on {sha[:12]}")
                for n in required if states.get(n) != "success"]

    def addressed(self, findings: Sequence[Finding]) -> None:
        """The author fixed these: resolve their review threads (the gate needs them resolved)."""
        for f in findings:
            if f.ref and f.ref not in self._resolved:
                self._call(lambda ref=f.ref: self.gh.resolve_thread(ref))
                self._resolved.add(f.ref)

    def close_item(self, source: IntakeSource, item: WorkItem, body: str) -> None:
        """Close with one comment: a comment already carrying this item's marker is not repeated."""
        marker = MARKER.format(key=item.key)
        if item.source == "github":
            number = int(item.id)
            posted = any(marker in (c.get("body") or "") for c in self._call(lambda: self.gh.comments(number)))
            if not posted:
                self._call(lambda: self.gh.comment(number, f"{body}\n\n{marker}"))
            self._call(lambda: self.gh.close_issue(number))
            return
        self._call(lambda: source.close(item, body))

    def comment_item(self, source: IntakeSource, item: WorkItem, body: str, *, marker: str,
                     pr: dict[str, Any] | None = None) -> None:
        """Say something on the item (and on its PR, when one is open) without closing it: a
        comment already carrying `marker` is not repeated (a lane resuming the item re-reports)."""
        tagged = f"{body}\n\n<!-- {marker} -->"
        targets = ([int(item.id)] if item.source == "github" else []) + ([int(pr["number"])] if pr else [])
        for number in targets:  # a PR is an issue for comments
            posted = any(marker in (c.get("body") or "") for c in self._call(lambda n=number: self.gh.comments(n)))
            if not posted:
                self._call(lambda n=number: self.gh.comment(n, tagged))
        if item.source != "github":
            self._call(lambda: source.comment(item, body))

    def merged_as(self, pr: dict[str, Any]) -> str | None:
        """The merge commit of `pr` when the forge merged it (None while it is not merged): a
        lane killed between the PR merge and the queue's record finds its landing here."""
        raw = self._call(lambda: self.gh.http.request("GET", self.gh._r(f"/pulls/{int(pr['number'])}"))) or {}
        if not raw.get("merged"):
            return None
        return str(raw.get("merge_commit_sha") or "") or None

    def record_merged(self, pr: dict[str, Any], head: str) -> None:
        return None  # ForgeLander merged it through the API

    def merge_url(self, head: str) -> str:
        base = self.gh.api_url
        if base.rstrip("/") == "https://api.github.com":
            base = "https://github.com"
        return f"{base.rstrip('/')}/{self.gh.repo}/commit/{head}"

    def lander(self, target: str) -> ForgeLander:
        return ForgeLander(self, target)


@dataclass
class ForgeLander:
    link: GitHubLink
    target: str

    def current(self) -> str:
        root, remote = self.link.ws.root, self.link.remote
        _git(root, "fetch", "-q", remote, f"+refs/heads/{self.target}:refs/remotes/{remote}/{self.target}")
        return _git(root, "rev-parse", f"refs/remotes/{remote}/{self.target}^{{commit}}").stdout.strip()

    def move(self, changes: Sequence[Change], head: str, expected: str) -> dict[str, Any]:
        """Merge each change's PR as a squash of its branch tip — the same three-way merge the
        queue verified (same tip, same merge base), so GitHub's commit has the verified tree,
        and the PR head keeps the check runs branch protection asks for."""
        if self.current() != expected:
            raise TargetMoved(self.target)
        root = self.link.ws.root
        merged: list[dict[str, Any]] = []
        for change in changes:
            if not change.commit or not change.pr:
                continue  # a no-op change has nothing to merge
            pr = change.pr
            tip = _git(root, "rev-parse", f"{change.branch}^{{commit}}").stdout.strip()
            self.link.push(tip, pr["head"])  # normally already there (pushed after each fix round)
            sha = self.link._call(lambda pr=pr, c=change, tip=tip: self.link.gh.merge_pr(
                pr["number"], method="squash", sha=tip, title=f"{c.title} (#{pr['number']})"))
            merged.append({"pr": pr["number"], "sha": sha})
        return {"target": self.target, "head": self.current(), "merged": merged}
