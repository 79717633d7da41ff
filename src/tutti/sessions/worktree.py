"""Agent git worktrees: `.tutti/worktrees/{agent}` on branch `tutti/{agent}` (or `branch = …`).

Rules (inventory §1 "Worktree preparation", with §12.10 fixed):
- an existing worktree is reused (warnings when dirty or behind the project HEAD);
- `fresh` recreates it from the project HEAD — but only resets a branch Tutti created;
  a user's pre-existing branch is checked out as it is, never rewritten;
- any git failure raises RoutingError: an agent NEVER silently runs in the project root;
- `remove()` deletes the worktree and, only if Tutti created it, the branch. Which branches
  Tutti created is recorded in `.tutti/state/worktrees.json`.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tutti import proc
from tutti.errors import ConfigError, RoutingError
from tutti.fsutil import write_json_atomic
from tutti.paths import inside
from tutti.store.db import now_iso

REGISTRY = "worktrees.json"


@dataclass
class Worktree:
    agent: str
    path: Path  # the worktree checkout
    workdir: Path  # where the agent runs: path, or path/<subdir> when tutti.toml is in a subdir
    branch: str
    created_branch: bool
    reused: bool = False
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"], d["workdir"] = str(self.path), str(self.workdir)
        return d


@dataclass
class RemovedWorktree:
    agent: str
    path: str
    removed: bool
    branch: str | None
    branch_deleted: bool
    warnings: list[str] = field(default_factory=list)
    archived_ref: str | None = None  # where unlanded work was kept

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def git(cwd: Path, *args: str, check: bool = True, timeout: float = 120) -> proc.ProcResult:
    res = proc.run(["git", *args], cwd=cwd, timeout=timeout)
    if check and not res.ok:
        detail = (res.stderr.strip() or res.stdout.strip() or f"exit {res.returncode}").splitlines()[-1]
        raise RoutingError(f"git error: git {' '.join(args[:3])}: {detail}", hint=f"run the git command in {cwd} to see why")
    return res


def branch_exists(root: Path, branch: str) -> bool:
    return git(root, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}", check=False).ok


# -- registry of what tutti created ---------------------------------------------------------
@contextmanager
def _registry(state_dir: Path) -> Iterator[dict[str, Any]]:
    """Read-modify-write of worktrees.json under an exclusive lock (parallel `tt up`s)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / f".{REGISTRY}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = state_dir / REGISTRY
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            data = {}
        before = json.dumps(data, sort_keys=True)
        yield data
        if json.dumps(data, sort_keys=True) != before:
            write_json_atomic(path, data)


def recorded(state_dir: Path, agent: str) -> dict[str, Any] | None:
    try:
        return json.loads((state_dir / REGISTRY).read_text(encoding="utf-8")).get(agent)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


# -- prepare / remove ------------------------------------------------------------------------
def worktree_dir(root: Path, agent: str) -> Path:
    base = root / ".tutti" / "worktrees"
    path = base / agent
    if not inside(base, path) or path.resolve() == base.resolve():
        raise ConfigError(f"tutti.toml: agent.name '{agent}' is not usable as a directory name",
                          hint="use letters, digits, '-' and '_' in agent names")
    return path


def repo_info(root: Path) -> tuple[Path, str]:
    """(top-level of the git repo, prefix of the workspace inside it). RoutingError if no repo."""
    res = git(root, "rev-parse", "--show-toplevel", "--show-prefix", check=False)
    if not res.ok:
        raise RoutingError(f"worktree error: {root} is not inside a git repository",
                           hint="run `git init` and commit once, or set `worktree = false` for the agent")
    lines = res.stdout.splitlines()
    return Path(lines[0]), (lines[1] if len(lines) > 1 else "").strip()


def _registered_worktrees(root: Path) -> set[Path]:
    res = git(root, "worktree", "list", "--porcelain")
    return {Path(line[9:]).resolve() for line in res.stdout.splitlines() if line.startswith("worktree ")}


def _exclude_tutti_dir(root: Path) -> None:
    """Keep `.tutti/` out of `git status` without touching a tracked file (.git/info/exclude)."""
    res = git(root, "rev-parse", "--git-common-dir", check=False)
    if not res.ok:
        return
    common = Path(res.stdout.strip())
    exclude = (common if common.is_absolute() else root / common) / "info" / "exclude"
    try:
        text = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        if ".tutti/" not in text.split("\n"):
            exclude.parent.mkdir(parents=True, exist_ok=True)
            with open(exclude, "a", encoding="utf-8") as fh:
                fh.write(("" if text.endswith("\n") or not text else "\n") + ".tutti/\n")
    except OSError:
        pass  # cosmetic only


@contextmanager
def _worktree_lock(state_dir: Path) -> Iterator[None]:
    """Serialise worktree add/remove across threads and processes of one workspace: git
    itself races when two `git worktree add` run at once in one repository
    ("failed to read .git/worktrees/X/commondir")."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / ".worktree-ops.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def prepare(root: Path, state_dir: Path, agent: str, branch: str, *, fresh: bool = False) -> Worktree:
    """Create or reuse the agent's worktree. Raises RoutingError on any failure."""
    with _worktree_lock(state_dir):
        return _prepare(root, state_dir, agent, branch, fresh=fresh)


def _prepare(root: Path, state_dir: Path, agent: str, branch: str, *, fresh: bool) -> Worktree:
    path = worktree_dir(root, agent)
    _, prefix = repo_info(root)
    if not git(root, "rev-parse", "--verify", "--quiet", "HEAD", check=False).ok:
        raise RoutingError(f"worktree error: the repository at {root} has no commits yet",
                           hint="make a first commit, or set `worktree = false` for the agent")
    if not git(root, "check-ref-format", "--branch", branch, check=False).ok:
        raise ConfigError(f"tutti.toml: agent '{agent}' branch: '{branch}' is not a valid git branch name",
                          hint="use a name like tutti/<agent>")
    _exclude_tutti_dir(root)
    git(root, "worktree", "prune", check=False)
    registered = path.resolve() in _registered_worktrees(root)
    record = recorded(state_dir, agent) or {}
    warnings: list[str] = []

    if registered and not fresh:
        current = git(path, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
        if current != branch:
            warnings.append(f"worktree for '{agent}' is on branch '{current}', not '{branch}'")
        if git(path, "status", "--porcelain").stdout.strip():
            warnings.append(f"worktree for '{agent}' has uncommitted changes; reusing existing state")
        if not git(root, "merge-base", "--is-ancestor", "HEAD", current, check=False).ok:
            warnings.append(f"worktree for '{agent}' is not at the project HEAD; pass --fresh-worktree to reset")
        return Worktree(agent, path, path / prefix if prefix else path, branch,
                        bool(record.get("created_branch")), reused=True, warnings=warnings)

    if registered:
        git(root, "worktree", "remove", "--force", str(path))
    if path.exists():
        if not fresh and any(path.iterdir()):
            raise RoutingError(f"worktree error: {path} exists but is not a git worktree",
                               hint="remove that directory, or pass --fresh-worktree to recreate it")
        shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)

    existed = branch_exists(root, branch)
    created = (not existed) or bool(record.get("created_branch"))
    if not existed:
        git(root, "worktree", "add", "-b", branch, str(path), "HEAD")
    elif fresh and created:
        git(root, "worktree", "add", "--force", "-B", branch, str(path), "HEAD")
    else:
        if fresh:
            warnings.append(f"branch '{branch}' was not created by tutti: checked out as it is, not reset")
        git(root, "worktree", "add", str(path), branch)
    with _registry(state_dir) as reg:
        reg[agent] = {**{k: v for k, v in reg.get(agent, {}).items() if k == "injected"},
                      "path": str(path), "branch": branch, "created_branch": created,
                      "base": git(root, "rev-parse", "HEAD").stdout.strip(), "created_at": now_iso()}
    return Worktree(agent, path, path / prefix if prefix else path, branch, created, reused=False, warnings=warnings)


def record_injected(state_dir: Path, agent: str, rel_path: str) -> None:
    """Remember a file Tutti wrote into the worktree (land keeps its managed part out of commits)."""
    with _registry(state_dir) as reg:
        entry = reg.setdefault(agent, {})
        injected = entry.setdefault("injected", [])
        if rel_path not in injected:
            injected.append(rel_path)


def remove(root: Path, state_dir: Path, agent: str, branch: str | None = None) -> RemovedWorktree:
    """Remove the agent's worktree, and its branch if (and only if) Tutti created it."""
    with _worktree_lock(state_dir):
        return _remove(root, state_dir, agent, branch)


def _remove(root: Path, state_dir: Path, agent: str, branch: str | None) -> RemovedWorktree:
    path = worktree_dir(root, agent)
    record = recorded(state_dir, agent) or {}
    branch = record.get("branch") or branch
    warnings: list[str] = []
    removed = False
    try:
        registered = path.resolve() in _registered_worktrees(root)
    except RoutingError:
        registered = False
    archived = None
    if registered:
        archived = _archive(root, path, agent, record)
        git(root, "worktree", "remove", "--force", str(path))
        removed = True
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
        removed = True
    git(root, "worktree", "prune", check=False)
    deleted = False
    if branch and record.get("created_branch") and branch_exists(root, branch):
        current = git(root, "rev-parse", "--abbrev-ref", "HEAD", check=False).stdout.strip()
        if current == branch:
            warnings.append(f"branch '{branch}' is checked out in the project root; not deleted")
        else:
            git(root, "branch", "-D", branch)
            deleted = True
    elif branch and branch_exists(root, branch) and not record.get("created_branch"):
        warnings.append(f"branch '{branch}' kept: tutti did not create it")
    with _registry(state_dir) as reg:
        reg.pop(agent, None)
    if archived:
        warnings.append(f"'{agent}' had work not on your branch: kept at {archived} "
                        f"(restore with `git branch <name> {archived}`)")
    return RemovedWorktree(agent, str(path), removed, branch, deleted, warnings, archived)


def _archive(root: Path, path: Path, agent: str, record: dict[str, Any]) -> str | None:
    """Before a worktree and its branch go away, keep anything not yet on the project HEAD
    reachable under `refs/tutti/archive/{agent}/{stamp}` (not a branch, so nothing is "left
    behind", but nothing is lost): uncommitted work becomes one commit first."""
    if git(path, "status", "--porcelain", check=False).stdout.strip():
        injected = record.get("injected", [])
        git(path, "add", "-A", "--", ".", *(f":(exclude){p}" for p in injected), check=False)
        if not git(path, "diff", "--cached", "--quiet", check=False).ok:
            git(path, "commit", "-q", "--no-verify", "-m", f"tutti: uncommitted work of agent '{agent}' at down --clean",
                check=False)
    tip = git(path, "rev-parse", "HEAD", check=False).stdout.strip()
    if not tip:
        return None
    # `git cherry` compares patches, so commits already landed by cherry-pick count as landed.
    unlanded = [line for line in git(root, "cherry", "HEAD", tip, check=False).stdout.splitlines() if line.startswith("+")]
    if not unlanded:
        return None
    ref = f"refs/tutti/archive/{agent}/{now_iso().replace(':', '').replace('.', '')}"
    git(root, "update-ref", ref, tip)
    return ref
