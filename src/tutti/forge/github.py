"""The GitHub client: REST v3 and GraphQL over httpx — one client, one place.

Where it points: `api_url` argument (or `[github] api_url`), else `$GITHUB_API_URL`, else https://api.github.com
(GraphQL at `$GITHUB_GRAPHQL_URL`, else `{api}/graphql`, or `/api/graphql` on Enterprise).
Token: argument, else `$GITHUB_TOKEN`, `$GH_TOKEN`, else `gh auth token` when gh is installed.
Repository: argument, else `$GITHUB_REPOSITORY`, else the `origin` remote of the checkout.
Retries and rate limits: see `tutti.forge.http`.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tutti.errors import ForgeError
from tutti.forge.http import ApiClient, ForgeHTTPError

DEFAULT_API = "https://api.github.com"
TOKEN_HINT = "set GITHUB_TOKEN (or GH_TOKEN), or run `gh auth login`"
THREADS_QUERY = (
    "query($owner: String!, $name: String!, $number: Int!, $after: String) {"
    " repository(owner: $owner, name: $name) { pullRequest(number: $number) {"
    " reviewThreads(first: 100, after: $after) { pageInfo { hasNextPage endCursor }"
    " nodes { id isResolved path line comments(first: 50) { nodes { databaseId body path author { login } } } } }"
    " } } }"
)
RESOLVE_MUTATION = "mutation($input: ResolveReviewThreadInput!) { resolveReviewThread(input: $input) { thread { id isResolved } } }"


@dataclass
class PullRequest:
    number: int
    url: str
    head: str = ""
    base: str = ""
    head_sha: str = ""
    state: str = "open"
    merged: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PullRequest:
        return cls(int(d["number"]), d.get("html_url") or "", (d.get("head") or {}).get("ref", ""),
                   (d.get("base") or {}).get("ref", ""), (d.get("head") or {}).get("sha") or "",
                   d.get("state", "open"), bool(d.get("merged")))


def resolve_token(token: str | None = None, token_env: str | None = None) -> str:
    for value in (token, os.environ.get(token_env) if token_env else None,
                  os.environ.get("GITHUB_TOKEN"), os.environ.get("GH_TOKEN")):
        if value and value.strip():
            return value.strip()
    if shutil.which("gh"):
        from tutti import proc

        res = proc.run(["gh", "auth", "token"], timeout=30)
        if res.ok and res.stdout.strip():
            return res.stdout.strip()
    where = f"${token_env}, " if token_env else ""
    raise ForgeError("no GitHub token found", hint=f"set {where}GITHUB_TOKEN or GH_TOKEN, or run `gh auth login`")


def repo_from_remote(url: str) -> str | None:
    """owner/name from a remote URL or path (`git@github.com:o/n.git`, `https://…/o/n`, `/srv/git/o/n.git`)."""
    tail = url.strip().rstrip("/").replace(":", "/")
    parts = [p for p in tail.split("/") if p]
    if len(parts) < 2:
        return None
    name = parts[-1][:-4] if parts[-1].endswith(".git") else parts[-1]
    return f"{parts[-2]}/{name}" if name else None


def resolve_repo(repo: str | None = None, root: Path | None = None, remote: str = "origin") -> str:
    if repo:
        return repo
    if os.environ.get("GITHUB_REPOSITORY"):
        return os.environ["GITHUB_REPOSITORY"]
    if root is not None:
        from tutti import proc

        res = proc.run(["git", "remote", "get-url", remote], cwd=root, timeout=30)
        found = repo_from_remote(res.stdout) if res.ok else None
        if found:
            return found
    raise ForgeError("could not determine the GitHub repository",
                     hint="set GITHUB_REPOSITORY=owner/name, `repo` in the [[intake]] table, or add an origin remote")


def graphql_url(api_url: str) -> str:
    if os.environ.get("GITHUB_GRAPHQL_URL"):
        return os.environ["GITHUB_GRAPHQL_URL"]
    return api_url[: -len("/v3")] + "/graphql" if api_url.endswith("/api/v3") else api_url + "/graphql"


class GitHub:
    def __init__(self, repo: str, *, api_url: str | None = None, token: str | None = None, token_env: str | None = None,
                 **http: Any) -> None:
        self.repo = repo
        self.api_url = (api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/")
        headers = {"Authorization": f"Bearer {resolve_token(token, token_env)}", "Accept": "application/vnd.github+json",
                   "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "tutti"}
        self.http = ApiClient(self.api_url, headers, service="GitHub", hint=TOKEN_HINT, **http)

    @classmethod
    def for_checkout(cls, root: Path | None, repo: str | None = None, *, settings: Any = None, **kw: Any) -> GitHub:
        """A client for the checkout at `root`; `settings` is tutti.toml's `[github]` table
        (explicit arguments win over it, it wins over the environment)."""
        if settings is not None:
            repo = repo or settings.repo
            kw["api_url"] = kw.get("api_url") or settings.api_url
            kw["token_env"] = kw.get("token_env") or settings.token_env
        return cls(resolve_repo(repo, root), **kw)

    def close(self) -> None:
        self.http.close()

    def _r(self, suffix: str = "") -> str:
        return f"/repos/{self.repo}{suffix}"

    def paginate(self, path: str, params: dict | None = None, *, limit: int = 1000) -> list[Any]:
        out: list[Any] = []
        page = 1
        while len(out) < limit:
            batch = self.http.request("GET", path, params={**(params or {}), "per_page": 100, "page": page}) or []
            out.extend(batch)
            if len(batch) < 100:
                break
            page += 1
        return out[:limit]

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = self.http.request("POST", graphql_url(self.api_url), json={"query": query, "variables": variables}) or {}
        if body.get("errors"):
            raise ForgeError(f"GitHub GraphQL error: {body['errors'][0].get('message')}", hint=TOKEN_HINT)
        return body.get("data") or {}

    # -- issues ---------------------------------------------------------------------------------
    def list_issues(self, *, labels: list[str] | None = None, milestone: str | None = None, state: str = "open",
                    limit: int = 100) -> list[dict[str, Any]]:
        """Issues (not PRs), oldest first."""
        params: dict[str, Any] = {"state": state, "sort": "created", "direction": "asc"}
        if labels:
            params["labels"] = ",".join(labels)
        if milestone:
            params["milestone"] = self.milestone_number(milestone)
        return [i for i in self.paginate(self._r("/issues"), params, limit=limit * 2) if "pull_request" not in i][:limit]

    def milestone_number(self, ref: str) -> str:
        if str(ref).isdigit() or ref in ("*", "none"):
            return str(ref)
        for ms in self.paginate(self._r("/milestones"), {"state": "all"}):
            if ms.get("title") == ref:
                return str(ms["number"])
        raise ForgeError(f"milestone '{ref}' not found in {self.repo}", hint="use the milestone's exact title or number")

    def get_issue(self, number: int) -> dict[str, Any]:
        return self.http.request("GET", self._r(f"/issues/{number}"))

    def create_issue(self, title: str, body: str = "", labels: list[str] | None = None) -> dict[str, Any]:
        return self.http.request("POST", self._r("/issues"), json={"title": title, "body": body, "labels": labels or []})

    def close_issue(self, number: int, *, reason: str = "completed") -> dict[str, Any]:
        return self.http.request("PATCH", self._r(f"/issues/{number}"), json={"state": "closed", "state_reason": reason})

    def add_labels(self, number: int, labels: list[str]) -> None:
        self.http.request("POST", self._r(f"/issues/{number}/labels"), json={"labels": labels})

    def remove_label(self, number: int, label: str) -> bool:
        """False when the label was not on the issue (not an error)."""
        from urllib.parse import quote

        try:
            self.http.request("DELETE", self._r(f"/issues/{number}/labels/{quote(label, safe='')}"))
            return True
        except ForgeHTTPError as exc:
            if exc.status == 404:
                return False
            raise

    def comments(self, number: int) -> list[dict[str, Any]]:
        return self.paginate(self._r(f"/issues/{number}/comments"))

    def comment(self, number: int, body: str) -> dict[str, Any]:
        return self.http.request("POST", self._r(f"/issues/{number}/comments"), json={"body": body})

    def get_comment(self, comment_id: int) -> dict[str, Any]:
        return self.http.request("GET", self._r(f"/issues/comments/{comment_id}"))

    def update_comment(self, comment_id: int, body: str) -> dict[str, Any]:
        return self.http.request("PATCH", self._r(f"/issues/comments/{comment_id}"), json={"body": body})

    # -- pull requests ----------------------------------------------------------------------------
    def open_pr_for(self, branch: str) -> PullRequest | None:
        owner = self.repo.split("/")[0]
        items = self.http.request("GET", self._r("/pulls"), params={"head": f"{owner}:{branch}", "state": "open",
                                                                    "per_page": 1}) or []
        return PullRequest.from_json(items[0]) if items else None

    def create_pr(self, head: str, base: str, title: str, body: str = "") -> PullRequest:
        return PullRequest.from_json(self.http.request("POST", self._r("/pulls"),
                                                       json={"head": head, "base": base, "title": title, "body": body}))

    def get_pr(self, number: int) -> PullRequest:
        return PullRequest.from_json(self.http.request("GET", self._r(f"/pulls/{number}")))

    def merge_pr(self, number: int, *, method: str = "merge", sha: str | None = None, title: str | None = None) -> str:
        body: dict[str, Any] = {"merge_method": method}
        if sha:
            body["sha"] = sha
        if title:
            body["commit_title"] = title
        return str((self.http.request("PUT", self._r(f"/pulls/{number}/merge"), json=body) or {}).get("sha", ""))

    def reviews(self, number: int) -> list[dict[str, Any]]:
        return self.paginate(self._r(f"/pulls/{number}/reviews"))

    def review(self, number: int, event: str, body: str = "", comments: list[dict] | None = None) -> dict[str, Any]:
        return self.http.request("POST", self._r(f"/pulls/{number}/reviews"),
                                 json={"event": event, "body": body, "comments": comments or []})

    def review_comments(self, number: int) -> list[dict[str, Any]]:
        return self.paginate(self._r(f"/pulls/{number}/comments"))

    def review_threads(self, number: int) -> list[dict[str, Any]]:
        owner, name = self.repo.split("/", 1)
        threads: list[dict[str, Any]] = []
        after = None
        for _ in range(100):  # 100 pages x 100 threads is more than any real PR
            data = self.graphql(THREADS_QUERY, {"owner": owner, "name": name, "number": number, "after": after})
            try:
                page = data["repository"]["pullRequest"]["reviewThreads"]
            except (KeyError, TypeError):
                raise ForgeError(f"unexpected GraphQL response for PR #{number} of {self.repo}", hint=TOKEN_HINT) from None
            threads.extend(page.get("nodes") or [])
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                break
            after = info.get("endCursor")
        return threads

    def resolve_thread(self, thread_id: str) -> None:
        self.graphql(RESOLVE_MUTATION, {"input": {"threadId": thread_id}})

    # -- checks -----------------------------------------------------------------------------------
    def required_checks(self, branch: str) -> list[str] | None:
        """Required status-check names of `branch`, or None when it is not protected."""
        from urllib.parse import quote

        try:
            body = self.http.request("GET", self._r(f"/branches/{quote(branch, safe='')}/protection/required_status_checks"))
        except ForgeHTTPError as exc:
            if exc.status == 404:
                return None
            raise
        names = list(body.get("contexts") or []) + [c.get("context") for c in body.get("checks") or []]
        return list(dict.fromkeys(n for n in names if n))

    def check_states(self, ref: str) -> dict[str, str]:
        """name -> success | failure | pending for every check run and commit status on `ref`."""
        out: dict[str, str] = {}
        status = self.http.request("GET", self._r(f"/commits/{ref}/status")) or {}
        for st in status.get("statuses") or []:
            out[st["context"]] = {"success": "success", "pending": "pending"}.get(st["state"], "failure")
        runs = (self.http.request("GET", self._r(f"/commits/{ref}/check-runs"), params={"per_page": 100}) or {})
        for run in runs.get("check_runs") or []:
            if run.get("status") != "completed":
                out[run["name"]] = "pending"
            else:
                out[run["name"]] = "success" if run.get("conclusion") in ("success", "neutral", "skipped") else "failure"
        return out

    def create_check_run(self, head_sha: str, name: str, conclusion: str | None = "success") -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "head_sha": head_sha}
        body.update({"status": "completed", "conclusion": conclusion} if conclusion else {"status": "in_progress"})
        return self.http.request("POST", self._r("/check-runs"), json=body)
