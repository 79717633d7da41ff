"""`loop.nochange` on real git: what counts as something to land, and the trailer evidence of
an earlier landing of the same item."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tutti.loop import nochange


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _commit(repo: Path, path: str, text: str, message: str) -> None:
    (repo / path).write_text(text)
    _git(repo, "add", path)
    _git(repo, "commit", "-q", "-m", message)


def test_has_change_empty_real_net_empty_conflicting_and_missing_branches(git_repo):
    repo = git_repo
    _commit(repo, "a.txt", "1\n", "a")
    tip = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-q", "-b", "lane")
    assert nochange.has_change(repo, tip, "lane") is False  # no commit at all
    _commit(repo, "b.txt", "2\n", "b")
    assert nochange.has_change(repo, tip, "lane") is True
    _git(repo, "rm", "-q", "b.txt")
    _git(repo, "commit", "-q", "-m", "drop b")
    assert nochange.has_change(repo, tip, "lane") is False  # two commits, net nothing
    assert nochange.has_change(repo, tip, "no-such-branch") is True  # the queue names the problem
    _commit(repo, "a.txt", "lane\n", "lane edits a")
    _git(repo, "checkout", "-q", tip)
    _commit(repo, "a.txt", "target\n", "target edits a")
    assert nochange.has_change(repo, _git(repo, "rev-parse", "HEAD"), "lane") is True  # a conflict


def test_reason_names_uncommitted_files_in_the_lane_worktree(git_repo):
    _commit(git_repo, "a.txt", "1\n", "a")
    tip = _git(git_repo, "rev-parse", "HEAD")
    _git(git_repo, "branch", "lane")
    (git_repo / "wip.py").write_text("x = 1\n")
    text = nochange.reason(git_repo, git_repo, tip, "lane", "run-1", when="implement")
    assert text.startswith("the workflow run run-1 made no commit on lane")
    assert "1 uncommitted file(s)" in text and "wip.py" in text


def test_trailer_evidence_counts_only_this_attempts_landings_and_exact_keys(git_repo, tmp_path):
    from tutti.store import Store

    store = Store(tmp_path / "store.db")
    repo = git_repo
    _commit(repo, "a.txt", "1\n", "a")
    _git(repo, "branch", "lane")  # this attempt's branch point
    _commit(repo, "b.txt", "2\n", "other\n\nLanded-From: tutti/x\nWork-Item: q#30")
    target = _git(repo, "rev-parse", "HEAD")
    assert nochange.landed_earlier(store, repo, "q#3", target, "lane") is None  # q#30 is not q#3
    _commit(repo, "c.txt", "3\n", "mine\n\nLanded-From: tutti/y\nWork-Item: q#3")
    target = _git(repo, "rev-parse", "HEAD")
    assert nochange.landed_earlier(store, repo, "q#3", target, "lane") == target
    _git(repo, "branch", "-f", "lane", target)  # a later attempt cut after that landing
    assert nochange.landed_earlier(store, repo, "q#3", target, "lane") is None


def test_the_queues_record_counts_only_after_this_attempt_started(git_repo, tmp_path):
    from tutti.store import Store

    store = Store(tmp_path / "store.db")
    tip = _git(git_repo, "rev-parse", "HEAD")
    store.append_event("merge_queue.landed", data={"head": "a" * 40, "items": ["q#3"]})  # attempt 1 landed
    store.append_event("loop.item.started", data={"key": "q#3", "attempt": 2})
    assert nochange.landed_earlier(store, git_repo, "q#3", tip, "main") is None
    store.append_event("merge_queue.landed", data={"head": "b" * 40, "items": ["q#30", "q#3"]})
    assert nochange.landed_earlier(store, git_repo, "q#3", tip, "main") == "b" * 40
    assert nochange.landed_earlier(store, git_repo, "q#4", tip, "main") is None
