"""Issue #11: `tt diff` after `tt land` lists only what is not landed yet (land cherry-picks, so
landed commits have new hashes on the project branch). Real git worktrees."""

from __future__ import annotations

import pytest
from tests.helpers.worktrees import agent_commit, agent_worktree_workspace

from tutti.ops.diff import diff
from tutti.ops.land import land


@pytest.fixture
def ws(git_repo):
    return agent_worktree_workspace(git_repo)


def test_diff_after_land_lists_nothing_landed(ws):
    agent_commit(ws, "one.txt", "1\n", "agent: one")
    assert len(diff(ws, "a").commits) == 1
    land(ws, "a")
    after = diff(ws, "a")
    assert after.commits == [] and after.text == "" and after.files_changed == 0


def test_diff_after_land_shows_only_the_newer_work(ws):
    agent_commit(ws, "one.txt", "1\n", "agent: one")
    land(ws, "a")
    agent_commit(ws, "two.txt", "2\n", "agent: two")
    after = diff(ws, "a")
    assert [c.split(" ", 1)[1] for c in after.commits] == ["agent: two"]
    assert "two.txt" in after.text and "one.txt" not in after.text
    assert after.files_changed == 1
