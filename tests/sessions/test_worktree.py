"""Agent worktrees over real git repositories."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import git

from tutti.errors import ConfigError, RoutingError
from tutti.sessions import worktree


def state(repo: Path) -> Path:
    return repo / ".tutti" / "state"


def test_creates_worktree_on_tutti_branch(git_repo):
    wt = worktree.prepare(git_repo, state(git_repo), "api", "tutti/api")
    assert wt.path == git_repo / ".tutti" / "worktrees" / "api"
    assert (wt.path / "README.md").exists() and wt.created_branch and not wt.reused
    assert git(wt.path, "rev-parse", "--abbrev-ref", "HEAD").strip() == "tutti/api"
    # .tutti/ is excluded locally, so the project root stays clean
    assert git(git_repo, "status", "--porcelain").strip() == ""


def test_reuses_existing_worktree_and_warns_when_dirty(git_repo):
    worktree.prepare(git_repo, state(git_repo), "api", "tutti/api")
    (git_repo / ".tutti/worktrees/api/wip.txt").write_text("wip\n")
    again = worktree.prepare(git_repo, state(git_repo), "api", "tutti/api")
    assert again.reused and (again.path / "wip.txt").exists()
    assert any("uncommitted changes" in w for w in again.warnings)


def test_fresh_recreates_from_head(git_repo):
    wt = worktree.prepare(git_repo, state(git_repo), "api", "tutti/api")
    (wt.path / "x.txt").write_text("x\n")
    git(wt.path, "add", "-A")
    git(wt.path, "commit", "-qm", "agent work")
    fresh = worktree.prepare(git_repo, state(git_repo), "api", "tutti/api", fresh=True)
    assert not (fresh.path / "x.txt").exists()
    assert git(fresh.path, "rev-parse", "HEAD") == git(git_repo, "rev-parse", "HEAD")


def test_fresh_never_resets_a_users_own_branch(git_repo):
    git(git_repo, "branch", "feature")
    git(git_repo, "checkout", "-q", "feature")
    (git_repo / "f.txt").write_text("mine\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "my work")
    git(git_repo, "checkout", "-q", "main")
    mine = git(git_repo, "rev-parse", "feature")
    wt = worktree.prepare(git_repo, state(git_repo), "api", "feature", fresh=True)
    assert not wt.created_branch
    assert git(git_repo, "rev-parse", "feature") == mine
    assert any("not created by tutti" in w for w in wt.warnings)


def test_remove_deletes_worktree_and_the_branch_tutti_created(git_repo):
    worktree.prepare(git_repo, state(git_repo), "api", "tutti/api")
    removed = worktree.remove(git_repo, state(git_repo), "api")
    assert removed.removed and removed.branch_deleted
    assert not (git_repo / ".tutti/worktrees/api").exists()
    assert "tutti/api" not in git(git_repo, "branch", "--list")
    assert str(git_repo / ".tutti/worktrees/api") not in git(git_repo, "worktree", "list")


def test_remove_keeps_a_pre_existing_user_branch(git_repo):
    git(git_repo, "branch", "feature")
    worktree.prepare(git_repo, state(git_repo), "api", "feature")
    removed = worktree.remove(git_repo, state(git_repo), "api", "feature")
    assert removed.removed and not removed.branch_deleted
    assert "feature" in git(git_repo, "branch", "--list")


def test_outside_a_git_repository_is_a_routing_error(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(RoutingError, match="not inside a git repository"):
        worktree.prepare(plain, state(plain), "api", "tutti/api")


def test_a_repository_without_commits_is_a_routing_error(tmp_path):
    repo = tmp_path / "empty"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    with pytest.raises(RoutingError, match="no commits"):
        worktree.prepare(repo, state(repo), "api", "tutti/api")


def test_branch_checked_out_elsewhere_is_a_routing_error(git_repo):
    with pytest.raises(RoutingError):
        worktree.prepare(git_repo, state(git_repo), "api", "main")


def test_agent_names_cannot_escape_the_worktrees_dir(git_repo):
    with pytest.raises(ConfigError):
        worktree.prepare(git_repo, state(git_repo), "../../evil", "tutti/evil")


def test_a_stray_directory_is_not_silently_reused(git_repo):
    stray = git_repo / ".tutti/worktrees/api"
    stray.mkdir(parents=True)
    (stray / "junk").write_text("x")
    with pytest.raises(RoutingError, match="not a git worktree"):
        worktree.prepare(git_repo, state(git_repo), "api", "tutti/api")


def test_removing_keeps_unlanded_and_uncommitted_work_under_an_archive_ref(git_repo):
    wt = worktree.prepare(git_repo, state(git_repo), "api", "tutti/api")
    (wt.path / "done.txt").write_text("committed\n")
    git(wt.path, "add", "-A")
    git(wt.path, "commit", "-qm", "agent: done")
    (wt.path / "draft.txt").write_text("not committed\n")
    removed = worktree.remove(git_repo, state(git_repo), "api")
    assert removed.branch_deleted and removed.archived_ref.startswith("refs/tutti/archive/api/")
    files = git(git_repo, "ls-tree", "-r", "--name-only", removed.archived_ref).split()
    assert "done.txt" in files and "draft.txt" in files
    assert "tutti/api" not in git(git_repo, "branch", "--list")


def test_removing_a_worktree_with_nothing_new_archives_nothing(git_repo):
    worktree.prepare(git_repo, state(git_repo), "api", "tutti/api")
    assert worktree.remove(git_repo, state(git_repo), "api").archived_ref is None
    assert git(git_repo, "for-each-ref", "refs/tutti").strip() == ""


def test_a_workspace_in_a_subdirectory_runs_agents_in_the_same_subdirectory(git_repo):
    sub = git_repo / "services" / "api"
    sub.mkdir(parents=True)
    (sub / "main.py").write_text("print('hi')\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "service")
    wt = worktree.prepare(sub, state(sub), "api", "tutti/api")
    assert wt.path == sub / ".tutti" / "worktrees" / "api"
    assert wt.workdir == wt.path / "services" / "api" and (wt.workdir / "main.py").exists()


def test_parallel_prepares_in_one_repo_all_succeed(git_repo):
    # git races on .git/worktrees when two `worktree add` run at once; prepare serialises them.
    import threading

    from tutti.sessions import worktree

    state = git_repo / ".tutti" / "state"
    errors: list[BaseException] = []

    def make(name: str) -> None:
        try:
            worktree.prepare(git_repo, state, name, f"tutti/{name}")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=make, args=(f"agent{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    for i in range(6):
        assert (git_repo / ".tutti" / "worktrees" / f"agent{i}" / "README.md").exists()
