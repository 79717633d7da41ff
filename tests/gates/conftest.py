"""A real workspace: git repo on main, tutti.toml committed, `.tutti/` ignored, agent worktrees."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import git

from tutti.workspace import load_workspace_at

BASE_TOML = """[workspace]
name = "gates"

[[agent]]
name = "impl"
runtime = "fake"

[[agent]]
name = "api"
runtime = "fake"

[[agent]]
name = "api-gateway"
runtime = "fake"

[[agent]]
name = "reviewer"
runtime = "fake"
"""


def add_worktree(repo: Path, agent: str) -> Path:
    path = repo / ".tutti" / "worktrees" / agent
    git(repo, "worktree", "add", "-q", "-b", f"tutti/{agent}", str(path))
    return path


def commit_file(cwd: Path, name: str, text: str, message: str) -> None:
    (cwd / name).parent.mkdir(parents=True, exist_ok=True)
    (cwd / name).write_text(text)
    git(cwd, "add", name)
    git(cwd, "commit", "-q", "-m", message)


@pytest.fixture
def make_ws(git_repo):
    def _make(extra_toml: str = ""):
        (git_repo / "tutti.toml").write_text(BASE_TOML + extra_toml)
        (git_repo / ".gitignore").write_text(".tutti/\n")
        git(git_repo, "add", "tutti.toml", ".gitignore")
        git(git_repo, "commit", "-q", "-m", "tutti config")
        return load_workspace_at(git_repo)

    return _make
