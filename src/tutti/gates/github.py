"""GitHub through the `gh` CLI (inventory §7.1): open a PR for an agent branch, and the
`github` merge gate — an open PR, required checks green, every review thread resolved.

Every call is an argv list through `proc.run`; nothing here builds a shell string.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tutti import proc
from tutti.errors import GateError, RoutingError, ToolError

GH_TIMEOUT = 120
THREADS_QUERY = (
    "query($owner: String!, $name: String!, $number: Int!, $after: String) {"
    " repository(owner: $owner, name: $name) { pullRequest(number: $number) {"
    " reviewThreads(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { isResolved } }"
    " } } }"
)


@dataclass
class PullRequest:
    number: int
    url: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gh_available() -> bool:
    return shutil.which("gh") is not None


def _gh(root: Path, *args: str, check: bool = True) -> proc.ProcResult:
    if not gh_available():
        raise GateError("`gh` is not installed or not on PATH",
                        hint="install the GitHub CLI (https://cli.github.com) and run `gh auth login`")
    res = proc.run(["gh", *args], cwd=root, timeout=GH_TIMEOUT)
    if check and not res.ok:
        detail = (res.stderr.strip() or res.stdout.strip() or f"exit {res.returncode}").splitlines()[-1]
        raise GateError(f"gh {' '.join(args[:2])} failed: {detail}", hint="check `gh auth status` and the repository remote")
    return res


def _json(res: proc.ProcResult, what: str) -> Any:
    try:
        return json.loads(res.stdout or "null")
    except json.JSONDecodeError:
        raise ToolError(f"unexpected output from {what}: {res.stdout[:200]!r}", hint="upgrade gh") from None


def repo_name(root: Path) -> tuple[str, str]:
    out = _gh(root, "repo", "view", "--json", "nameWithOwner", "--jq", ".nameWithOwner").stdout.strip()
    if "/" not in out:
        raise GateError(f"could not determine the GitHub repository (gh said {out!r})",
                        hint="run inside a clone with a GitHub remote")
    owner, name = out.split("/", 1)
    return owner, name


def open_pr_for(root: Path, branch: str) -> PullRequest | None:
    res = _gh(root, "pr", "list", "--head", branch, "--state", "open", "--limit", "1", "--json", "number,url")
    items = _json(res, "gh pr list")
    if not items:
        return None
    return PullRequest(int(items[0]["number"]), str(items[0].get("url", "")))


def unresolved_threads(root: Path, number: int) -> int:
    owner, name = repo_name(root)
    count, after = 0, None
    for _ in range(100):  # 100 pages x 100 threads is more than any real PR
        args = ["api", "graphql", "-f", f"query={THREADS_QUERY}", "-F", f"owner={owner}", "-F", f"name={name}",
                "-F", f"number={number}"]
        if after:
            args += ["-F", f"after={after}"]
        data = _json(_gh(root, *args), "gh api graphql")
        try:
            threads = data["data"]["repository"]["pullRequest"]["reviewThreads"]
        except (KeyError, TypeError):
            raise ToolError(f"unexpected GraphQL response for PR #{number}", hint="check `gh auth status`") from None
        count += sum(1 for node in threads.get("nodes") or [] if not node.get("isResolved"))
        page = threads.get("pageInfo") or {}
        if not page.get("hasNextPage"):
            break
        after = page.get("endCursor")
    return count


def check_pr_gate(root: Path, branch: str) -> tuple[PullRequest, str]:
    """Raise GateError unless `branch` has an open PR with green required checks and no
    unresolved review threads; return the PR and the pass message."""
    if not gh_available():
        raise GateError("merge gate enabled, but `gh` is not installed or not on PATH",
                        hint="install gh, or use `[gate] kind = \"local\"` for repositories without GitHub")
    pr = open_pr_for(root, branch)
    if pr is None:
        raise GateError(f"merge gate requires an open PR for branch '{branch}', but none was found.",
                        hint="open one with `tt land AGENT --pr`")
    checks = _gh(root, "pr", "checks", str(pr.number), "--required", check=False)
    if not checks.ok:
        detail = (checks.stdout.strip() or checks.stderr.strip()).splitlines()
        failing = [line for line in detail if "fail" in line.lower() or "pending" in line.lower()]
        raise GateError(f"merge gate blocked: required checks are not green for PR #{pr.number} "
                        f"({'; '.join(failing[:5]) or (detail[-1] if detail else 'exit ' + str(checks.returncode))})",
                        hint=f"see `gh pr checks {pr.number}`")
    unresolved = unresolved_threads(root, pr.number)
    if unresolved:
        raise GateError(f"merge gate blocked: PR #{pr.number} has {unresolved} unresolved review thread(s). "
                        "Resolve all threads before land/merge.", hint=pr.url or None)
    return pr, (f"Merge gate passed for PR #{pr.number} on branch '{branch}': required checks green, "
                "review threads resolved.")


def push_and_open_pr(root: Path, branch: str, *, remote: str = "origin") -> PullRequest:
    """`git push -u origin BRANCH`, then `gh pr create` against the current branch (or reuse
    an already open PR for the branch — a re-run must not fail or open a second one)."""
    if not proc.run(["git", "remote", "get-url", remote], cwd=root, timeout=30).ok:
        raise RoutingError(f"`tt land --pr` needs a git remote '{remote}', and {root} has none",
                           hint=f"add it (git remote add {remote} URL), or land locally without --pr")
    push = proc.run(["git", "push", "-u", remote, branch], cwd=root, timeout=300)
    if not push.ok:
        lines = [ln.strip() for ln in (push.stderr or push.stdout).splitlines() if ln.strip()]
        # git's first fatal/error line says what went wrong; its last line is often advice
        # ("and the repository exists."), which alone reads as nonsense.
        detail = next((ln for ln in lines if ln.startswith(("fatal:", "error:", "remote: error"))),
                      lines[0] if lines else f"exit {push.returncode}")
        raise RoutingError(f"git push -u {remote} {branch} failed: {detail}",
                           hint=f"check the '{remote}' remote and your credentials")
    if not gh_available():
        raise GateError("`gh` is required for `tt land --pr` (branch was pushed, no PR opened)",
                        hint="install the GitHub CLI and run `gh auth login`")
    existing = open_pr_for(root, branch)
    if existing is not None:
        return existing
    base = proc.run(["git", "symbolic-ref", "--quiet", "--short", "HEAD"], cwd=root, timeout=30).stdout.strip() or "main"
    res = _gh(root, "pr", "create", "--head", branch, "--base", base, "--fill")
    url = next((line.strip() for line in res.stdout.splitlines() if line.strip().startswith("http")), "")
    number = int(url.rstrip("/").rsplit("/", 1)[-1]) if url.rstrip("/").rsplit("/", 1)[-1].isdigit() else 0
    if not number:
        found = open_pr_for(root, branch)
        if found is not None:
            return found
    return PullRequest(number, url)
