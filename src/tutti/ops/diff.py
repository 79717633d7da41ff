"""`diff`: what an agent changed — its commits since it branched plus uncommitted work.

Unlike the original (which showed only the worktree's uncommitted diff, so an agent that
commits looked like it did nothing), the diff is taken against the merge-base of the project
HEAD and the agent branch, in the worktree: committed + staged + unstaged changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tutti.errors import RoutingError, UsageError
from tutti.ops.resolve import find_agent
from tutti.sessions.worktree import git, worktree_dir
from tutti.workspace import Workspace

MODES = ("patch", "staged", "name-only", "stat")


@dataclass
class DiffResult:
    agent: str
    worktree: str
    branch: str
    base: str
    mode: str
    text: str
    commits: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)  # `git status --short` lines of the worktree
    files_changed: int = 0
    insertions: int = 0
    deletions: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def diff(ws: Workspace, agent: str, mode: str = "patch", *, staged: bool = False) -> DiffResult:
    if mode not in MODES:
        raise UsageError(f"unknown diff mode '{mode}'", hint=f"use one of: {', '.join(MODES)}")
    cfg = find_agent(ws, agent)
    path = worktree_dir(ws.root, cfg.name)
    if not (path / ".git").exists():
        raise RoutingError(f"worktree not found for '{cfg.name}' at {path}", hint=f"Launch with `tt up {cfg.name}` first.")
    branch = git(path, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
    base, commits = _unlanded(ws, branch)
    status = [line for line in git(path, "status", "--short").stdout.splitlines() if line]
    cached = ["--cached"] if staged or mode == "staged" else []
    shape = {"name-only": ["--name-only"], "stat": ["--stat"]}.get(mode, [])
    text = git(path, "diff", *cached, *shape, base).stdout
    files = ins = dels = 0
    for line in git(path, "diff", *cached, "--numstat", base).stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            files += 1
            ins += int(parts[0]) if parts[0].isdigit() else 0
            dels += int(parts[1]) if parts[1].isdigit() else 0
    untracked = [line[3:] for line in status if line.startswith("??")]
    files += len(untracked)
    return DiffResult(cfg.name, str(path), branch, base, mode, text, commits, status, files, ins, dels)


def _unlanded(ws: Workspace, branch: str) -> tuple[str, list[str]]:
    """The diff base and the commits not yet on the project HEAD. `tt land` cherry-picks, so a
    landed commit has a new hash on HEAD: `git cherry` (patch identity) tells them apart. When the
    landed commits are the branch's oldest ones (the usual case), the diff starts after them."""
    base = git(ws.root, "merge-base", "HEAD", branch).stdout.strip()
    marks = [line.split(" ", 1) for line in git(ws.root, "cherry", "HEAD", branch, base).stdout.splitlines() if line]
    pending = [sha for mark, sha in marks if mark == "+"]
    first_pending = next((i for i, (mark, _) in enumerate(marks) if mark == "+"), len(marks))
    if first_pending and all(mark == "+" for mark, _ in marks[first_pending:]):
        base = marks[first_pending - 1][1]  # everything up to here is already landed
    commits = [git(ws.root, "log", "-1", "--oneline", sha).stdout.strip() for sha in reversed(pending)]
    return base, commits
