"""Issue #11: `tt diff` after `tt land` lists only what is not landed yet (land cherry-picks, so
landed commits have new hashes on the project branch). Real git worktrees."""

from __future__ import annotations

import pytest
from tests.conftest import git

from tutti.ops.diff import diff
from tutti.ops.land import land
from tutti.sessions import worktree
from tutti.workspace import load_workspace_at


@pytest.fixture
def ws(git_repo):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "demo"\n[defaults]\nruntime = "fake"\n[[agent]]\nname = "a"\n')
    exclude = git_repo / ".git/info/exclude"
    exclude.write_text(exclude.read_text() + "tutti.toml\n")
    workspace = load_workspace_at(git_repo)
    worktree.prepare(workspace.root, workspace.state_dir, "a", "tutti/a")
    return workspace


def commit(ws, name, content, message):
    wt = ws.worktree_path("a")
    (wt / name).write_text(content)
    git(wt, "add", "--", name)
    git(wt, "commit", "-qm", message)


def test_diff_after_land_lists_nothing_landed(ws):
    commit(ws, "one.txt", "1\n", "agent: one")
    assert len(diff(ws, "a").commits) == 1
    land(ws, "a")
    after = diff(ws, "a")
    assert after.commits == [] and after.text == "" and after.files_changed == 0


def test_diff_after_land_shows_only_the_newer_work(ws):
    commit(ws, "one.txt", "1\n", "agent: one")
    land(ws, "a")
    commit(ws, "two.txt", "2\n", "agent: two")
    after = diff(ws, "a")
    assert [c.split(" ", 1)[1] for c in after.commits] == ["agent: two"]
    assert "two.txt" in after.text and "one.txt" not in after.text
    assert after.files_changed == 1
