"""The merge queue against real git repositories and a real verify command."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from tutti.loop.merge_queue import Change, MergeQueue, RefLander

# verify: every mod_*.py must define ok() returning True (a "test suite" that runs in ~30 ms)
CHECK = """import glob, importlib.util, sys
for path in sorted(glob.glob("mod_*.py")):
    spec = importlib.util.spec_from_file_location(path[:-3], path)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    if not mod.ok():
        print(f"FAILED {path}: ok() returned False"); sys.exit(1)
print("all green")
"""
VERIFY = ["python3 check.py"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(git_repo: Path) -> Path:
    (git_repo / "check.py").write_text(CHECK)
    git(git_repo, "add", "check.py")
    git(git_repo, "commit", "-q", "-m", "add check")
    git(git_repo, "checkout", "-q", "-b", "base")  # the user's checkout is elsewhere: main moves by ref
    return git_repo


def lane_branch(repo: Path, name: str, files: dict[str, str], *, start: str = "main") -> str:
    git(repo, "branch", name, start)
    wt = repo.parent / f"wt-{name.replace('/', '-')}"
    git(repo, "worktree", "add", "-q", str(wt), name)
    for rel, text in files.items():
        (wt / rel).write_text(text)
        git(wt, "add", rel)
        git(wt, "commit", "-q", "-m", f"{name}: {rel}")
    return name


def good(n: int) -> dict[str, str]:
    return {f"mod_{n}.py": "def ok():\n    return True\n"}


def bad(n: int) -> dict[str, str]:
    return {f"mod_{n}.py": "def ok():\n    return False\n"}


def verify_at(repo: Path, sha: str) -> bool:
    wt = repo.parent / f"check-{sha[:10]}"
    git(repo, "worktree", "add", "-q", "--detach", str(wt), sha)
    try:
        return subprocess.run(["python3", "check.py"], cwd=wt, capture_output=True).returncode == 0
    finally:
        git(repo, "worktree", "remove", "--force", str(wt))


def queue(repo: Path, events: list, **kw) -> MergeQueue:
    return MergeQueue(repo, RefLander(repo, "main"), verify=VERIFY, state_dir=repo.parent / "mq",
                      on_event=lambda kind, data: events.append((kind, data)), **kw)


def test_serial_queue_lands_each_change_onto_the_moving_tip(repo):
    events: list = []
    q = queue(repo, events)
    branches = [lane_branch(repo, f"lane-{i}", good(i)) for i in range(3)]  # all based on the same old tip
    outcomes = [q.land(Change(b, lane=f"implementer-{i}")) for i, b in enumerate(branches)]
    assert all(o.landed for o in outcomes)
    tree = git(repo, "ls-tree", "--name-only", "main").split()
    assert {"mod_0.py", "mod_1.py", "mod_2.py"} <= set(tree)
    for sha in git(repo, "rev-list", "base..main").split():  # no landed commit breaks verify
        assert verify_at(repo, sha)
    assert [k for k, _ in events].count("merge_queue.landed") == 3


def test_a_breaking_change_goes_back_with_the_failing_output_and_main_stays_green(repo):
    events: list = []
    q = queue(repo, events)
    tip = git(repo, "rev-parse", "main").strip()
    out = q.land(Change(lane_branch(repo, "broken", bad(7)), lane="implementer-2", item="gh-7"))
    assert not out.landed and out.reason == "verify_failed"
    assert "FAILED mod_7.py" in out.output
    assert git(repo, "rev-parse", "main").strip() == tip
    rejected = [d for k, d in events if k == "merge_queue.rejected"]
    assert rejected and rejected[0]["item"] == "gh-7" and rejected[0]["lane"] == "implementer-2"


def test_batch_of_four_with_one_bad_change_lands_three_and_names_the_bad_one(repo):
    events: list = []
    q = queue(repo, events, batch=4)
    changes = [Change(lane_branch(repo, f"c{i}", bad(i) if i == 2 else good(i)), lane=f"lane-{i}", item=f"item-{i}")
               for i in range(4)]
    tickets = [q.submit(c) for c in changes]
    q.process_once()
    outcomes = [t.outcome for t in tickets]
    assert [o.landed for o in outcomes] == [True, True, False, True]
    assert outcomes[2].change.item == "item-2" and "FAILED mod_2.py" in outcomes[2].output
    tree = set(git(repo, "ls-tree", "--name-only", "main").split())
    assert {"mod_0.py", "mod_1.py", "mod_3.py"} <= tree and "mod_2.py" not in tree
    # bisection: [0..3] fails, [0,1] lands, [2,3] fails, [2] fails, [3] lands
    assert q.verifies == 5
    for kind, data in events:
        if kind == "merge_queue.landed":
            assert verify_at(repo, data["head"])


def test_batch_of_good_changes_is_verified_once(repo):
    q = queue(repo, [], batch=4)
    tickets = [q.submit(Change(lane_branch(repo, f"g{i}", good(i)))) for i in range(4)]
    q.process_once()
    assert all(t.outcome.landed for t in tickets)
    assert q.verifies == 1


def test_a_conflicting_change_is_returned_and_the_others_land(repo):
    q = queue(repo, [])
    a = lane_branch(repo, "a", {"mod_1.py": "def ok():\n    return True\n"})
    b = lane_branch(repo, "b", {"mod_1.py": "def ok():\n    return 1 == 1\n"})
    assert q.land(Change(a)).landed
    out = q.land(Change(b, lane="lane-b"))
    assert not out.landed and out.reason == "conflict" and "mod_1.py" in out.output


def test_lanes_landing_from_threads_all_land_and_main_is_green_at_every_commit(repo):
    q = queue(repo, [])
    branches = [lane_branch(repo, f"t{i}", good(i)) for i in range(6)]
    results: dict[str, bool] = {}

    def lane(branch: str) -> None:
        results[branch] = q.land(Change(branch), timeout=120).landed

    threads = [threading.Thread(target=lane, args=(b,)) for b in branches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert results == {b: True for b in branches}
    for sha in git(repo, "rev-list", "base..main").split():
        assert verify_at(repo, sha)


def test_a_checked_out_target_follows_the_landed_head(git_repo):
    (git_repo / "check.py").write_text(CHECK)
    git(git_repo, "add", "check.py")
    git(git_repo, "commit", "-q", "-m", "add check")
    q = MergeQueue(git_repo, RefLander(git_repo, "main"), verify=VERIFY, state_dir=git_repo.parent / "mq")
    assert q.land(Change(lane_branch(git_repo, "x", good(1)))).landed
    assert (git_repo / "mod_1.py").exists()
    assert git(git_repo, "status", "--porcelain").strip() == ""


def test_an_empty_change_is_rejected_no_change_and_never_moves_main(repo):
    """A branch with no commit of its own (or only what main has) is not "landed" at the
    unchanged tip: it comes back `no_change`, and the batch's other changes still land."""
    events: list = []
    q = queue(repo, events, batch=3)
    tip = git(repo, "rev-parse", "main").strip()
    git(repo, "branch", "empty", "main")  # the lane made no commit
    same = lane_branch(repo, "same", {"scratch.txt": "tmp\n"})  # commits whose net change is nothing
    git(repo.parent / "wt-same", "rm", "-q", "scratch.txt")
    git(repo.parent / "wt-same", "commit", "-q", "-m", "drop scratch")
    tickets = [q.submit(Change("empty", item="i-1")), q.submit(Change(same, item="i-2")),
               q.submit(Change(lane_branch(repo, "real", good(4)), item="i-3"))]
    q.process_once()
    outcomes = [t.outcome for t in tickets]
    assert [(o.landed, o.reason) for o in outcomes] == [(False, "no_change"), (False, "no_change"), (True, None)]
    assert "adds nothing" in outcomes[0].output and outcomes[0].head is None
    assert git(repo, "rev-list", "--count", f"{tip}..main").strip() == "1"
    landed = [d for k, d in events if k == "merge_queue.landed"]
    assert [d["items"] for d in landed] == [["i-3"]]
    empty = q.land(Change("empty", item="i-1"))  # alone: nothing is verified, main stays
    assert not empty.landed and empty.reason == "no_change"
