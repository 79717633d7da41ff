"""The GitHub half of the scripted forge: REST v3 and GraphQL subset over plain-dict state,
with real bare git repositories behind the pull requests.

State is one JSON-able dict (`GitHubState.data`) so the forge can persist it to a file and a
test can read it back. Issue and PR numbers share one counter per repository, comment ids one
counter per forge, as on GitHub. A PR's merge is a real `git merge-tree` + `commit-tree` in
the bare repository (merge method `merge`, `squash` or `rebase`-as-squash), so a clone that
fetches afterwards sees the merged commit.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    user: dict[str, str]  # {"login", "type"} of the token's owner
    base_url: str


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class NotFound(Exception):
    pass


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    import os

    full_env = {**os.environ, "GIT_AUTHOR_NAME": "forge", "GIT_AUTHOR_EMAIL": "forge@forge.invalid",
                "GIT_COMMITTER_NAME": "forge", "GIT_COMMITTER_EMAIL": "forge@forge.invalid", **(env or {})}
    res = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60, env=full_env)
    if res.returncode != 0:
        raise RuntimeError(f"git {' '.join(args[:2])}: {(res.stderr or res.stdout).strip()[:300]}")
    return res.stdout.strip()


class GitHubState:
    def __init__(self, root: Path, data: dict[str, Any] | None = None) -> None:
        self.root = root
        self.data = data or {"repos": {}, "next_comment_id": 1000, "next_node": 1}

    # -- seeding (python API and /_control) ------------------------------------------------------
    def create_repo(self, full_name: str, *, default_branch: str = "main") -> dict[str, Any]:
        if full_name in self.data["repos"]:
            return self.data["repos"][full_name]["meta"]
        git_dir = self.root / "git" / f"{full_name}.git"
        git_dir.parent.mkdir(parents=True, exist_ok=True)
        _git(git_dir.parent, "init", "-q", "--bare", "-b", default_branch, git_dir.name)
        meta = {"full_name": full_name, "name": full_name.split("/")[1], "owner": {"login": full_name.split("/")[0]},
                "default_branch": default_branch, "clone_url": str(git_dir), "private": False}
        self.data["repos"][full_name] = {"meta": meta, "next_number": 1, "issues": {}, "labels": {}, "milestones": {},
                                         "comments": {}, "reviews": [], "review_comments": {}, "threads": {},
                                         "check_runs": [], "statuses": [], "protection": {}}
        return meta

    def repo(self, full_name: str) -> dict[str, Any]:
        repo = self.data["repos"].get(full_name)
        if repo is None:
            raise NotFound(full_name)
        return repo

    def git_dir(self, full_name: str) -> Path:
        return Path(self.repo(full_name)["meta"]["clone_url"])

    def _node(self, prefix: str) -> str:
        self.data["next_node"] += 1
        return f"{prefix}_{self.data['next_node']}"

    def create_issue(self, full_name: str, title: str, *, body: str = "", labels: list[str] | None = None,
                     milestone: Any = None, user: dict[str, str] | None = None, pr: dict | None = None) -> dict:
        repo = self.repo(full_name)
        number = repo["next_number"]
        repo["next_number"] += 1
        for name in labels or []:
            self._label(repo, name)
        ms = self._milestone(repo, milestone) if milestone not in (None, "") else None
        issue = {"number": number, "title": title, "body": body, "state": "open", "state_reason": None,
                 "labels": list(dict.fromkeys(labels or [])), "milestone": ms, "user": user or {"login": "octo", "type": "User"},
                 "created_at": _now(), "updated_at": _now(), "closed_at": None, "node_id": self._node("I"), "pr": pr}
        repo["issues"][str(number)] = issue
        return issue

    def _label(self, repo: dict, name: str) -> dict:
        return repo["labels"].setdefault(name, {"name": name, "color": "ededed", "description": ""})

    def _milestone(self, repo: dict, ref: Any) -> dict:
        for ms in repo["milestones"].values():
            if str(ms["number"]) == str(ref) or ms["title"] == str(ref):
                return ms
        raise Unprocessable(f"milestone {ref!r} does not exist")

    # -- JSON shapes ----------------------------------------------------------------------------
    def issue_json(self, full_name: str, issue: dict, base: str) -> dict:
        html = f"{base}/{full_name}/{'pull' if issue['pr'] else 'issues'}/{issue['number']}"
        out = {k: v for k, v in issue.items() if k != "pr"}
        out.update(html_url=html, url=f"{base}/repos/{full_name}/issues/{issue['number']}", id=issue["number"] + 10_000_000,
                   labels=[self.repo(full_name)["labels"].get(n, {"name": n}) for n in issue["labels"]],
                   comments=sum(1 for c in self.repo(full_name)["comments"].values() if c["issue"] == issue["number"]))
        if issue["pr"]:
            out["pull_request"] = {"url": f"{base}/repos/{full_name}/pulls/{issue['number']}", "html_url": html}
        return out

    def pr_json(self, full_name: str, issue: dict, base: str) -> dict:
        pr = issue["pr"]
        out = self.issue_json(full_name, issue, base)
        out.pop("pull_request", None)
        git_dir = self.git_dir(full_name)
        head_sha = _rev(git_dir, pr["head"]) or pr.get("head_sha")
        base_sha = _rev(git_dir, pr["base"])
        out.update(head={"ref": pr["head"], "sha": head_sha, "label": f"{full_name.split('/')[0]}:{pr['head']}"},
                   base={"ref": pr["base"], "sha": base_sha}, merged=pr["merged"],
                   merged_at=pr.get("merged_at"), merge_commit_sha=pr.get("merge_commit_sha"), draft=False,
                   mergeable=None if pr["merged"] else _mergeable(git_dir, base_sha, head_sha))
        return out

    # -- merge: real git ------------------------------------------------------------------------
    def merge(self, full_name: str, issue: dict, method: str, title: str | None) -> str:
        git_dir, pr = self.git_dir(full_name), issue["pr"]
        base_sha, head_sha = _rev(git_dir, pr["base"]), _rev(git_dir, pr["head"])
        if not head_sha:
            raise Unprocessable(f"head branch {pr['head']} does not exist")
        if base_sha is None:  # empty base: fast-forward creates it
            _git(git_dir, "update-ref", f"refs/heads/{pr['base']}", head_sha)
            return head_sha
        try:
            tree = _git(git_dir, "merge-tree", "--write-tree", base_sha, head_sha).splitlines()[0]
        except RuntimeError as exc:
            raise Conflict(f"Merge conflict: {exc}") from None
        message = title or f"Merge pull request #{issue['number']} from {pr['head']}\n\n{issue['title']}"
        parents = ["-p", base_sha] + (["-p", head_sha] if method == "merge" else [])
        sha = _git(git_dir, "commit-tree", tree, *parents, "-m", message)
        _git(git_dir, "update-ref", f"refs/heads/{pr['base']}", sha, base_sha)
        return sha


class Unprocessable(Exception):
    pass


class Conflict(Exception):
    pass


def _mergeable(git_dir: Path, base: str | None, head: str | None) -> bool | None:
    """Would the PR merge cleanly (a real trial merge, nothing written but objects)?"""
    if not head:
        return None
    if not base:
        return True
    try:
        _git(git_dir, "merge-tree", "--write-tree", base, head)
        return True
    except RuntimeError:
        return False


def _rev(git_dir: Path, ref: str) -> str | None:
    try:
        return _git(git_dir, "rev-parse", "--verify", "--quiet", f"refs/heads/{ref}^{{commit}}") or None
    except RuntimeError:
        try:
            return _git(git_dir, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}") or None
        except RuntimeError:
            return None


def _page(items: list, query: dict[str, str]) -> list:
    per = max(1, min(100, int(query.get("per_page", 30))))
    page = max(1, int(query.get("page", 1)))
    return items[(page - 1) * per: page * per]
