"""GitHub for `land --pr` and the `github` merge gate (inventory §7.1), through the one GitHub
client (`tutti.forge.github`, REST + GraphQL over httpx) — no `gh` needed.

The gate: an open PR for the branch, every required check green (the base branch's protection
names them; an unprotected base requires every reported check to pass), every review thread
resolved. The repository comes from `$GITHUB_REPOSITORY` or the `origin` remote; the API from
`$GITHUB_API_URL`; the token from `$GITHUB_TOKEN`/`$GH_TOKEN` or `gh auth token`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tutti import proc
from tutti.errors import ForgeError, GateError, RoutingError
from tutti.forge.github import GitHub, PullRequest

__all__ = ["PullRequest", "check_pr_gate", "client", "push_and_open_pr", "unresolved_threads"]


def client(root: Path, repo: str | None = None, settings: Any = None) -> GitHub:
    try:
        return GitHub.for_checkout(root, repo, settings=settings)
    except ForgeError as exc:
        raise GateError(f"merge gate needs GitHub: {exc.message}", hint=exc.hint) from None


def unresolved_threads(gh: GitHub, number: int) -> int:
    return sum(1 for t in gh.review_threads(number) if not t.get("isResolved"))


def check_states(gh: GitHub, pr: PullRequest) -> dict[str, str]:
    """Required check -> state for the PR head; a required check never reported is `expected`."""
    states = gh.check_states(pr.head_sha or pr.head)
    required = gh.required_checks(pr.base) if pr.base else None
    if required is None:
        return states
    return {name: states.get(name, "expected") for name in required}


def check_pr_gate(root: Path, branch: str, *, gh: GitHub | None = None, settings: Any = None) -> tuple[PullRequest, str]:
    """Raise GateError unless `branch` has an open PR with green required checks and no
    unresolved review threads; return the PR and the pass message (`settings`: `[github]`)."""
    gh = gh or client(root, settings=settings)
    try:
        found = gh.open_pr_for(branch)
        if found is None:
            raise GateError(f"merge gate requires an open PR for branch '{branch}', but none was found.",
                            hint="open one with `tt land AGENT --pr`")
        pr = gh.get_pr(found.number)
        states = check_states(gh, pr)
        red = [f"{name}: {state}" for name, state in sorted(states.items()) if state != "success"]
        if red:
            raise GateError(f"merge gate blocked: required checks are not green for PR #{pr.number} ({'; '.join(red[:5])})",
                            hint=pr.url or None)
        unresolved = unresolved_threads(gh, pr.number)
    except ForgeError as exc:
        if isinstance(exc, GateError):
            raise
        raise GateError(f"merge gate could not ask GitHub: {exc.message}", hint=exc.hint) from None
    if unresolved:
        raise GateError(f"merge gate blocked: PR #{pr.number} has {unresolved} unresolved review thread(s). "
                        "Resolve all threads before land/merge.", hint=pr.url or None)
    return pr, (f"Merge gate passed for PR #{pr.number} on branch '{branch}': required checks green, "
                "review threads resolved.")


def _git(root: Path, *args: str) -> str:
    res = proc.run(["git", *args], cwd=root, timeout=60)
    return res.stdout.strip() if res.ok else ""


def _fill(root: Path, base: str, branch: str) -> tuple[str, str]:
    """Title and body like `gh pr create --fill`: one commit gives its subject and body; more
    give the branch name and the list of subjects."""
    subjects = _git(root, "log", "--reverse", "--format=%s", f"{base}..{branch}").splitlines()
    if len(subjects) == 1:
        return subjects[0], _git(root, "log", "-1", "--format=%b", branch)
    return branch, "\n".join(f"- {s}" for s in subjects)


def push_and_open_pr(root: Path, branch: str, *, remote: str = "origin", repo: str | None = None,
                     settings: Any = None) -> PullRequest:
    """`git push -u origin BRANCH`, then open a PR against the current branch (or reuse the
    already open PR for the branch — a re-run must not fail or open a second one)."""
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
    try:
        gh = GitHub.for_checkout(root, repo, settings=settings)
        existing = gh.open_pr_for(branch)
        if existing is not None:
            return existing
        base = _git(root, "symbolic-ref", "--quiet", "--short", "HEAD") or "main"
        title, body = _fill(root, base, branch)
        return gh.create_pr(branch, base, title, body)
    except ForgeError as exc:
        raise GateError(f"branch {branch} was pushed, but no PR was opened: {exc.message}", hint=exc.hint) from None
