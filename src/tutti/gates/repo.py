"""The git questions gates ask about an agent's branch, as argv calls through `proc`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tutti import proc
from tutti.errors import RoutingError


@dataclass
class Repo:
    """A git checkout (the project root or an agent worktree)."""

    path: Path

    def run(self, *args: str, timeout: float = 120, check: bool = True) -> proc.ProcResult:
        res = proc.run(["git", *args], cwd=self.path, timeout=timeout)
        if check and not res.ok:
            detail = (res.stderr.strip() or res.stdout.strip()).splitlines()
            raise RoutingError(f"git {' '.join(args)} failed in {self.path}: {detail[-1] if detail else res.returncode}",
                               hint="check the repository state with `git status`")
        return res

    def out(self, *args: str, timeout: float = 120) -> str:
        return self.run(*args, timeout=timeout).stdout

    def branch_exists(self, branch: str) -> bool:
        return self.run("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).ok

    def rev(self, ref: str) -> str | None:
        res = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return res.stdout.strip() if res.ok else None

    def merge_base(self, a: str, b: str) -> str | None:
        res = self.run("merge-base", a, b, check=False)
        return res.stdout.strip() if res.ok else None

    def is_ancestor(self, ancestor: str, of: str = "HEAD") -> bool:
        return self.run("merge-base", "--is-ancestor", ancestor, of, check=False).returncode == 0

    def is_dirty(self, *, include_untracked: bool = True) -> bool:
        args = ["status", "--porcelain"] + ([] if include_untracked else ["--untracked-files=no"])
        return bool(self.out(*args).strip())

    def current_branch(self) -> str | None:
        res = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return res.stdout.strip() if res.ok else None

    def untracked(self) -> list[str]:
        return [line for line in self.out("ls-files", "--others", "--exclude-standard").splitlines() if line]
