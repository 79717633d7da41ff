"""Issue #11: `tt up` without tmux fails before it creates a worktree or a branch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from tests.conftest import git


def test_up_without_tmux_creates_no_worktree_or_branch(git_repo, tmp_path):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "nt"\n[[agent]]\nname = "a"\nruntime = "fake"\n')
    nobin = tmp_path / "bin-without-tmux"
    nobin.mkdir()
    (nobin / "git").symlink_to(shutil.which("git"))
    env = dict(os.environ, PATH=str(nobin))
    res = subprocess.run([sys.executable, "-m", "tutti", "up"], cwd=git_repo, env=env, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode != 0
    assert res.stderr.startswith("error[runtime]: tmux is not installed"), res.stderr
    assert "tutti/a" not in git(git_repo, "branch", "--list")
    assert "worktrees" not in git(git_repo, "worktree", "list")
    worktrees = git_repo / ".tutti" / "worktrees"
    assert not worktrees.exists() or not any(worktrees.iterdir())
