"""Landing: bring an agent's commits onto the project's current branch (inventory §7.1).

Local landing cherry-picks the agent branch's commits that are not yet on the current branch
(`git cherry`, so re-landing never duplicates or stops on an empty pick), in one
`git cherry-pick` sequence that is aborted as a whole on conflict — the project is never left
half-landed. `force` stashes local changes (including untracked files) first and restores
them afterwards. Uncommitted work in the agent's worktree is committed as one clearly named
WIP commit; files Tutti itself wrote into the worktree (recorded as `injected` in
`.tutti/state/worktrees.json`) are left out of it.

It lives below `ops/` so the workflow `land` step and `tt land` (`ops.land`) share it; the merge
gate (which may run a workflow) is passed in by the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti import proc
from tutti.errors import RoutingError
from tutti.sessions.worktree import branch_exists, git, recorded, worktree_dir
from tutti.workspace import find_agent

if TYPE_CHECKING:
    from tutti.workspace import Workspace

STASH_MESSAGE = "tutti: force-land preflight stash"


@dataclass
class LandResult:
    agent: str
    branch: str
    onto: str
    commits: list[str] = field(default_factory=list)  # "sha subject" of each landed commit, oldest first
    wip_commit: str | None = None
    stashed: bool = False
    stash_restored: bool = False
    pr_url: str | None = None
    pr_number: int | None = None
    gate_message: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def landed(self) -> int:
        return len(self.commits)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["landed"] = self.landed
        return d


def _wip_commit(ws: Workspace, agent: str, path) -> str | None:
    if not git(path, "status", "--porcelain").stdout.strip():
        return None
    injected = (recorded(ws.state_dir, agent) or {}).get("injected", [])
    pathspec = [".", *(f":(exclude){p}" for p in injected)]
    git(path, "add", "-A", "--", *pathspec)
    for rel in injected:
        _stage_without_memory(path, rel)
    if git(path, "diff", "--cached", "--quiet", check=False).ok:
        return None  # only Tutti's own injected content was dirty
    git(path, "commit", "-q", "-m", f"tutti: work in progress from agent '{agent}' (committed by tt land)")
    return git(path, "rev-parse", "--short", "HEAD").stdout.strip()


def _stage_without_memory(worktree: Path, rel: str) -> None:
    """Stage the agent's own edits of an injected file, minus Tutti's managed section."""
    from tutti.sessions.memory import START, strip_section

    file = worktree / rel
    if not file.exists():
        return
    original = file.read_text(encoding="utf-8", errors="replace")
    if START not in original:
        return  # an injected file without a managed section (e.g. a workflow's inject_files): never staged
    stripped = strip_section(original)
    tracked = git(worktree, "ls-files", "--error-unmatch", rel, check=False).ok
    if not tracked and not stripped.strip():
        return  # the file exists only because Tutti created it
    try:
        file.write_text(stripped, encoding="utf-8")
        git(worktree, "add", "--", rel)
    finally:
        file.write_text(original, encoding="utf-8")


def _worktree(ws: Workspace, cfg: Any) -> tuple[Path, bool]:
    """(the agent's worktree, whether it lives on another host). An agent placed on a host
    (`host` / `host_labels`, Temporal) has its worktree there; its branch was fetched from the
    workspace's remote before landing (`distributed.repo_sync`), so no local worktree is needed."""
    path = worktree_dir(ws.root, cfg.name)
    if (path / ".git").exists():
        return path, False
    if ws.config.engine.kind == "temporal" and (cfg.host or cfg.host_labels):
        return path, True
    raise RoutingError(f"worktree not found for '{cfg.name}' at {path}", hint=f"Launch with `tt up {cfg.name}` first.")


def _require_branch(root: Path, branch: str, remote: bool) -> None:
    if branch_exists(root, branch):
        return
    if remote:
        raise RoutingError(f"agent branch '{branch}' does not exist here (the agent lives on another host)",
                           hint="its host pushes it when run as `tt host --repo URL --root DIR`, and the land fetches "
                                "it when this repository has that URL as remote 'origin'")
    raise RoutingError(f"agent branch '{branch}' does not exist", hint="Ensure the agent was launched with worktree enabled.")


def land_agent(ws: Workspace, agent: str, *, force: bool = False, pr: bool = False,
               gate: Callable[[], str] | None = None) -> LandResult:
    """Land `agent`'s branch; `gate()` checks the merge gate (after a PR is opened): its message or GateError."""
    cfg = find_agent(ws, agent)
    path, remote = _worktree(ws, cfg)
    root = ws.root
    tracked_dirty = not (git(root, "diff", "--quiet", check=False).ok and git(root, "diff", "--cached", "--quiet", check=False).ok)
    if tracked_dirty and not force:
        raise RoutingError("working tree has tracked changes",
                           hint=f"Commit/stash changes, or use `tt land {cfg.name} --force` to override.")
    branch = cfg.branch_name() if remote else git(path, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
    _require_branch(root, branch, remote)
    onto = git(root, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
    if onto == branch:
        raise RoutingError(f"the project root is on the agent's own branch '{branch}'", hint="check out your main branch first")
    result = LandResult(cfg.name, branch, onto)
    result.wip_commit = None if remote else _wip_commit(ws, cfg.name, path)
    if pr:  # as the original: push and open the PR first, then the gate (which needs the PR)
        from tutti.gates.github import push_and_open_pr

        opened = push_and_open_pr(root, branch, settings=ws.config.github)
        result.pr_url, result.pr_number = opened.url or None, opened.number
        ws.store.append_event("land.pr_opened", agent=cfg.name, data={"branch": branch, "base": onto, "url": result.pr_url,
                                                                       "number": opened.number})
    if gate is not None:
        result.gate_message = gate()
    if pr:
        return result

    # '+' lines of `git cherry` are commits whose change is not on HEAD yet.
    pending = [line[2:] for line in git(root, "cherry", "HEAD", branch).stdout.splitlines() if line.startswith("+ ")]
    if not pending:
        result.warnings.append(f"No new commits to land from {cfg.name} (branch: {branch}).")
        return result
    if force and (tracked_dirty or git(root, "status", "--porcelain").stdout.strip()):
        git(root, "stash", "push", "--include-untracked", "-m", STASH_MESSAGE)
        result.stashed = True
    try:
        picked = proc.run(["git", "cherry-pick", "--allow-empty", *pending], cwd=root, timeout=300)
        if not picked.ok:
            conflicts = git(root, "diff", "--name-only", "--diff-filter=U", check=False).stdout.split()
            git(root, "cherry-pick", "--abort", check=False)
            raise RoutingError(
                f"land of '{cfg.name}' stopped: cherry-pick conflict in {', '.join(conflicts) or 'the agent commits'}; nothing was landed",
                hint=f"rebase {branch} onto {onto} in {path} (or ask the agent to), then run `tt land {cfg.name}` again")
    finally:
        if result.stashed:
            popped = git(root, "stash", "pop", "--index", check=False)
            result.stash_restored = popped.ok
            if not popped.ok:
                result.warnings.append(f"local changes kept in the stash ('{STASH_MESSAGE}'): git stash pop to restore them")
    for sha in pending:
        result.commits.append(git(root, "log", "-1", "--format=%h %s", sha).stdout.strip())
    ws.store.append_event("land.completed", agent=cfg.name, data={"branch": branch, "onto": onto, "commits": result.commits,
                                                                   "wip_commit": result.wip_commit})
    return result
