"""ops.land and ops.diff over real git worktrees (the agent's work is made with git directly)."""

from __future__ import annotations

import pytest
from tests.conftest import git
from tests.helpers.worktrees import agent_commit, agent_worktree_workspace

from tutti.errors import RoutingError
from tutti.ops.diff import diff
from tutti.ops.land import land
from tutti.sessions import worktree
from tutti.workspace import load_workspace_at


@pytest.fixture
def ws(git_repo):
    return agent_worktree_workspace(git_repo)


def test_land_cherry_picks_the_agent_commits_onto_the_current_branch(ws):
    agent_commit(ws, "one.txt", "1\n", "agent: one")
    agent_commit(ws, "two.txt", "2\n", "agent: two")
    res = land(ws, "a")
    assert res.landed == 2 and res.onto == "main"
    log = git(ws.root, "log", "--format=%s")
    assert log.splitlines()[:2] == ["agent: two", "agent: one"]
    assert (ws.root / "two.txt").read_text() == "2\n"
    assert [e.kind for e in ws.store.read_events(kinds=["land.completed"])] == ["land.completed"]


def test_landing_twice_lands_nothing_new(ws):
    agent_commit(ws, "one.txt", "1\n", "agent: one")
    land(ws, "a")
    again = land(ws, "a")
    assert again.landed == 0 and "No new commits" in again.warnings[0]


def test_uncommitted_agent_work_becomes_one_named_wip_commit(ws):
    (ws.worktree_path("a") / "draft.txt").write_text("draft\n")
    res = land(ws, "a")
    assert res.wip_commit and res.landed == 1
    assert "work in progress from agent 'a'" in git(ws.root, "log", "-1", "--format=%s")


def test_land_refuses_dirty_tree_without_force(ws):
    agent_commit(ws, "one.txt", "1\n", "agent: one")
    (ws.root / "README.md").write_text("local edit\n")
    with pytest.raises(RoutingError, match="tracked changes"):
        land(ws, "a")


def test_force_stashes_and_restores_local_changes(ws):
    agent_commit(ws, "one.txt", "1\n", "agent: one")
    (ws.root / "README.md").write_text("local edit\n")
    res = land(ws, "a", force=True)
    assert res.landed == 1 and res.stashed and res.stash_restored
    assert (ws.root / "README.md").read_text() == "local edit\n"
    assert git(ws.root, "stash", "list") == ""


def test_a_conflict_lands_nothing_and_leaves_the_project_clean(ws):
    agent_commit(ws, "one.txt", "1\n", "agent: one")
    agent_commit(ws, "README.md", "agent version\n", "agent: readme")
    (ws.root / "README.md").write_text("my version\n")
    git(ws.root, "commit", "-qam", "mine")
    head = git(ws.root, "rev-parse", "HEAD")
    with pytest.raises(RoutingError, match="conflict in README.md"):
        land(ws, "a")
    assert git(ws.root, "rev-parse", "HEAD") == head
    assert git(ws.root, "status", "--porcelain").strip() == ""


def test_land_without_a_worktree_is_a_routing_error(git_repo):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "demo"\n[[agent]]\nname = "b"\nruntime = "fake"\n')
    with pytest.raises(RoutingError, match="worktree not found"):
        land(load_workspace_at(git_repo), "b")


def test_diff_shows_committed_and_uncommitted_agent_changes(ws):
    agent_commit(ws, "one.txt", "1\n", "agent: one")
    (ws.worktree_path("a") / "README.md").write_text("# demo\nmore\n")
    res = diff(ws, "a")
    assert "+1" in res.text and "+more" in res.text
    assert res.files_changed == 2 and res.insertions == 2 and res.deletions == 0
    assert res.commits and res.commits[0].endswith("agent: one")
    assert diff(ws, "a", "name-only").text.split() == ["README.md", "one.txt"]
    assert "2 files changed" in diff(ws, "a", "stat").text


def test_land_never_commits_the_injected_memory_section(ws):
    from tutti.sessions.memory import with_section

    wt = ws.worktree_path("a")
    (wt / "CLAUDE.md").write_text(with_section("", "secret team memory"))
    worktree.record_injected(ws.state_dir, "a", "CLAUDE.md")
    agent_commit(ws, "one.txt", "1\n", "agent: one")
    res = land(ws, "a")
    assert res.wip_commit is None and res.landed == 1
    assert not (ws.root / "CLAUDE.md").exists()
    # an agent's own edit of the file is kept, without the managed section
    (wt / "CLAUDE.md").write_text(with_section("", "secret team memory") + "\nAgent note.\n")
    res = land(ws, "a")
    assert res.wip_commit and (ws.root / "CLAUDE.md").read_text().strip() == "Agent note."
    assert "secret team memory" in (wt / "CLAUDE.md").read_text()


def test_injected_files_of_workflows_stay_out_of_the_wip_commit(ws):
    wt = ws.worktree_path("a")
    (wt / "context.md").write_text("injected by a workflow step\n")
    (wt / "work.txt").write_text("agent work\n")
    worktree.record_injected(ws.state_dir, "a", "context.md")
    res = land(ws, "a")
    assert res.wip_commit and (ws.root / "work.txt").exists() and not (ws.root / "context.md").exists()


def test_down_clean_after_land_archives_nothing(ws):
    agent_commit(ws, "one.txt", "1\n", "agent: one")
    land(ws, "a")
    removed = worktree.remove(ws.root, ws.state_dir, "a")
    assert removed.branch_deleted and removed.archived_ref is None


def test_land_pr_pushes_the_agent_branch_before_needing_a_token(ws, forge, monkeypatch, tmp_path):
    import shutil

    from tutti.errors import GateError

    monkeypatch.delenv("GITHUB_TOKEN")
    only_git = tmp_path / "only-git"
    only_git.mkdir()
    (only_git / "git").symlink_to(shutil.which("git"))
    monkeypatch.setenv("PATH", str(only_git))  # no `gh auth token` to fall back on
    remote = forge.create_repo("acme/demo")["clone_url"]
    git(ws.root, "remote", "add", "origin", remote)
    agent_commit(ws, "one.txt", "1\n", "agent: one")
    with pytest.raises(GateError, match="branch tutti/a was pushed, but no PR was opened: no GitHub token found"):
        land(ws, "a", pr=True)
    assert "agent: one" in git(ws.root, "log", "--format=%s", "origin/tutti/a")
    assert not (ws.root / "one.txt").exists()  # nothing landed locally


def test_land_pr_without_an_origin_remote_says_so(ws):
    from tutti.errors import RoutingError

    agent_commit(ws, "one.txt", "1\n", "agent: one")
    with pytest.raises(RoutingError, match="needs a git remote 'origin'") as info:
        land(ws, "a", pr=True)
    assert "git remote add origin" in info.value.hint


def test_land_pr_push_failure_shows_gits_fatal_line(ws, tmp_path):
    from tutti.errors import RoutingError

    git(ws.root, "remote", "add", "origin", str(tmp_path / "missing.git"))
    agent_commit(ws, "one.txt", "1\n", "agent: one")
    with pytest.raises(RoutingError, match=r"failed: fatal: .*missing\.git"):
        land(ws, "a", pr=True)
