"""Repos on hosts without a shared disk: the workspace's git remote is the only thing hosts and
the control share.

* `tt host --name N --repo URL --root DIR` clones URL into DIR when DIR holds no clone yet and
  serves from there (`clone_if_missing`); the host's process then `configure`s sync for that root.
* Before a run's first step on a host: `git fetch <remote>` and a fast-forward of the host's
  checked-out branch, so new agent worktrees start from the workspace's latest commits.
* After a step of an agent whose branch head is not the remote's (the agent committed): the host
  pushes that branch (`tutti/<agent>` or the agent's `branch`) to the remote, forced — the branch
  lives where the agent's worktree lives.
* A `land` step runs on the control; for an agent placed on a host it first fetches the agent's
  branch from the remote into the control's repository (`fetch_for_land`), then lands as usual.
Every git call is an argv list through `tutti.proc` — never a shell string.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti import proc
from tutti.errors import TuttiError

if TYPE_CHECKING:
    from tutti.config.models import Agent
    from tutti.workspace import Workspace

REMOTE = "origin"  # the clone's remote on a host; the control's repository must name it the same


class RepoSyncError(TuttiError):
    category = "git"


def _git(cwd: Path, *args: str, timeout: float = 300) -> proc.ProcResult:
    # never a credential prompt: a worker has no terminal (the error is reported instead)
    return proc.run(["git", *args], cwd=cwd, timeout=timeout, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})


def _detail(res: proc.ProcResult) -> str:
    lines = (res.stderr or res.stdout or "").strip().splitlines()
    return lines[-1][:200] if lines else f"exit {res.returncode}"


def clone_if_missing(url: str, root: Path) -> bool:
    """Clone `url` into `root` unless `root` already holds a clone. True when it cloned."""
    if (root / ".git").exists():
        return False
    if root.exists() and any(root.iterdir()):
        raise RepoSyncError(f"--root {root} exists, is not empty and is not a git clone",
                            hint="pass an empty or missing directory (tt host clones the repository into it)")
    root.parent.mkdir(parents=True, exist_ok=True)
    res = proc.run(["git", "clone", "--quiet", "--", url, str(root)], cwd=root.parent, timeout=900,
                   env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    if not res.ok:
        raise RepoSyncError(f"git clone of {url} into {root} failed: {_detail(res)}",
                            hint="check the URL and this host's access to it (ssh key / credential helper)")
    return True


def check_remote(root: Path, url: str) -> None:
    """An existing clone must be of the same repository (its `origin` is `url`)."""
    res = _git(root, "remote", "get-url", REMOTE)
    if not res.ok or res.stdout.strip() != url:
        have = res.stdout.strip() if res.ok else f"no remote '{REMOTE}'"
        raise RepoSyncError(f"{root} is a clone of {have}, not of {url}",
                            hint=f"pass another --root, or fix it: git -C {root} remote set-url {REMOTE} {url}")


class HostRepo:
    """Per `tt host` process: the fetch-once-per-run and the push-after-step of its clone."""

    def __init__(self, root: Path, remote: str = REMOTE) -> None:
        self.root, self.remote = root, remote
        self._fetched: set[str] = set()
        self._lock = threading.Lock()

    def before_run_step(self, run_id: str) -> dict[str, Any]:
        """The first step of `run_id` here: fetch and fast-forward (best effort: a local branch
        that has diverged keeps its commits; the fetch error is reported in the step's effects)."""
        with self._lock:
            if run_id in self._fetched:
                return {}
            fetched = _git(self.root, "fetch", "--quiet", self.remote)
            if not fetched.ok:
                return {"repo_fetch_error": _detail(fetched)}
            self._fetched.add(run_id)
            if len(self._fetched) > 4096:
                self._fetched = {run_id}
            ff = _git(self.root, "merge", "--ff-only", "--quiet", "@{upstream}")
            return {"repo_fetched": True, **({} if ff.ok else {"repo_fast_forward": _detail(ff)})}

    def branch_head(self, branch: str) -> str | None:
        res = _git(self.root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
        return res.stdout.strip() if res.ok else None

    def push_if_ahead(self, branch: str) -> dict[str, Any]:
        """Push the agent's branch when its head is not what the remote had at the last fetch or
        push (so commits of a step whose push was lost to a crash go with the next step)."""
        after = self.branch_head(branch)
        known = _git(self.root, "rev-parse", "--verify", "--quiet", f"refs/remotes/{self.remote}/{branch}")
        if after is None or (known.ok and known.stdout.strip() == after):
            return {}
        ref = f"refs/heads/{branch}"
        pushed = _git(self.root, "push", "--quiet", "--force", self.remote, f"{ref}:{ref}")
        if not pushed.ok:
            return {"branch_push_error": f"git push {self.remote} {branch}: {_detail(pushed)}"}
        return {"branch_pushed": {"branch": branch, "head": after, "remote": self.remote}}


_HOSTS: dict[Path, HostRepo] = {}


def configure(root: Path, remote: str = REMOTE) -> HostRepo:
    """`tt host --repo`: this process syncs the clone at `root` with its remote."""
    repo = HostRepo(root.resolve(), remote)
    _HOSTS[repo.root] = repo
    return repo


def host_repo(ws: Workspace) -> HostRepo | None:
    return _HOSTS.get(ws.root.resolve()) if _HOSTS else None


def is_hosted(ws: Workspace, cfg: Agent | None) -> bool:
    return cfg is not None and ws.config.engine.kind == "temporal" and bool(cfg.host or cfg.host_labels)


def fetch_for_land(ws: Workspace, agent: str) -> dict[str, Any]:
    """On the control, before landing an agent placed on a host: bring its branch from the remote
    (forced: the host's branch is the truth). Nothing to do when the agent is local, the control's
    repository has no such remote, or the remote has no such branch (the host pushed nothing)."""
    cfg = ws.config.agent(agent)
    if not is_hosted(ws, cfg) or not _git(ws.root, "remote", "get-url", REMOTE).ok:
        return {}
    branch = cfg.branch_name()
    ref = f"refs/heads/{branch}"
    listed = _git(ws.root, "ls-remote", "--heads", REMOTE, ref)
    if not listed.ok:
        raise RepoSyncError(f"cannot reach remote '{REMOTE}' to fetch {branch} before landing {agent}: {_detail(listed)}",
                            hint=f"check `git -C {ws.root} remote get-url {REMOTE}` and access to it")
    if not listed.stdout.strip():
        return {"branch_fetched": False}
    fetched = _git(ws.root, "fetch", "--quiet", REMOTE, f"+{ref}:{ref}")
    if not fetched.ok:
        raise RepoSyncError(f"git fetch {REMOTE} {branch} before landing {agent} failed: {_detail(fetched)}",
                            hint=f"is {branch} checked out in a worktree on this machine? remove it "
                                 f"(`git worktree list`), the agent's worktree lives on its host")
    return {"branch_fetched": True}
