"""An item whose lane produced nothing to land is not "merged": it is reported `no_change`,
left open (not closed), its claim released with a comment saying why, no PR opened — and the
next item still proceeds. A lane killed after the merge queue moved the target is different:
the item landed, and the lane resuming it finishes it as merged (real git, tmux, fake agents,
the scripted forge)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time

from tests.loop.conftest import GOOD, IMPLEMENTER, add_items, git

# "nothing N": the implementer answers (and leaves a scratch file) but commits nothing.
LAZY = {**IMPLEMENTER, "rule": [
    {"match": r"Work item: nothing (\d+)", "work_secs": 0.1,
     "write": [{"path": "notes_{1}.txt", "content": "looked at it\n"}], "reply": "Done."},
    *IMPLEMENTER["rule"]]}


def _events(ws, key: str, prefix: str = "loop.") -> list[tuple[str, dict]]:
    return [(e.kind, e.data) for e in ws.store.read_events(kind_prefix=prefix) if e.data.get("key") == key]


def test_no_commit_is_no_change_left_open_and_the_next_item_merges(loop_workspace, tt):
    from tutti.intake import leases, local
    from tutti.workspace import load_workspace_at

    root = loop_workspace(lanes=1, extra_agents={"implementer": LAZY})
    tip = git(root, "rev-parse", "main").strip()
    lazy, good = add_items(root, ["nothing 1", "add mod 2"])
    res = tt("loop", "--once", "--json", cwd=root, timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr  # an item needs a person: non-zero
    report = json.loads(res.stdout)
    items = {i["key"]: i for i in report["items"]}
    assert report["merged"] == 1 and report["no_change"] == 1 and report["failed"] == 0
    assert items[lazy]["status"] == "no_change" and items[lazy]["head"] is None
    assert "made no commit on tutti/implementer-1" in items[lazy]["message"]
    assert "notes_1.txt" in items[lazy]["message"] and "uncommitted" in items[lazy]["message"]
    assert items[good]["status"] == "merged"

    # main moved once, by the good item only; the lazy item's scratch file never landed
    assert git(root, "rev-list", "--count", f"{tip}..main").strip() == "1"
    tree = set(git(root, "ls-tree", "--name-only", "main").split())
    assert "mod_2.py" in tree and "notes_1.txt" not in tree

    ws = load_workspace_at(root)
    kinds = [k for k, _ in _events(ws, lazy)]
    assert "loop.item.no_change" in kinds and "loop.item.landed" not in kinds and "loop.item.closed" not in kinds
    finished = [d for k, d in _events(ws, lazy) if k == "loop.item.finished"]
    assert [d["status"] for d in finished] == ["no_change"]
    assert not [e for e in ws.store.read_events(kinds=["merge_queue.landed", "merge_queue.queued"])
                if lazy in (e.data.get("items") or [e.data.get("item")])]  # never even queued
    lease = leases.get(ws.store, lazy)
    assert lease is None or not lease.active  # the claim was released

    number = lazy.rsplit("#", 1)[1]
    [comment] = local.comments(ws.store, "queue", number)
    assert "did not merge this item" in comment["body"] and "no commit" in comment["body"]
    assert "attempt 1)" in comment["body"]

    listed = {i["key"]: i for i in json.loads(tt("queue", "list", "--all", "--json", cwd=root).stdout)}
    assert listed[lazy]["state"] == "open" and listed[lazy]["loop"]["status"] == "no_change"
    assert listed[good]["state"] == "done" and listed[good]["loop"]["status"] == "merged"
    text = tt("queue", "list", cwd=root).stdout
    assert "no_change" in text and "made no commit" in text
    shown = tt("queue", "show", number, cwd=root).stdout
    assert "loop: no_change" in shown


def test_commits_whose_content_main_already_has_are_no_change(loop_workspace, tt):
    """The implementer commits, but exactly what main already has: nothing to land either."""
    root = loop_workspace(lanes=1)
    (root / "mod_6.py").write_text(GOOD)
    git(root, "add", "mod_6.py")
    git(root, "commit", "-q", "-m", "mod 6 by hand")
    tip = git(root, "rev-parse", "main").strip()
    [key] = add_items(root, ["add mod 6"])
    res = tt("loop", "--once", "--json", cwd=root, timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr
    [item] = json.loads(res.stdout)["items"]
    assert item["status"] == "no_change", item
    assert git(root, "rev-parse", "main").strip() == tip
    listed = json.loads(tt("queue", "list", "--json", cwd=root).stdout)
    assert [i["key"] for i in listed] == [key]  # still open


def test_forge_no_change_opens_no_pr_keeps_the_issue_open_and_says_why(loop_workspace, forge, tt):
    from tests.loop.test_loop_forge import INTAKE, LOOP, REPO, gh

    root = loop_workspace(LOOP.format(lanes=1), intake_toml=INTAKE, extra_agents={"implementer": LAZY})
    meta = forge.create_repo(REPO)
    git(root, "remote", "add", "origin", meta["clone_url"])
    git(root, "push", "-q", "origin", "main")
    forge.create_issue(REPO, "nothing 7", labels=["agent-ready"])
    forge.create_issue(REPO, "add mod 8", labels=["agent-ready"])
    res = tt("loop", "--once", "--json", cwd=root, timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr
    items = {i["key"].rsplit("#", 1)[1]: i for i in json.loads(res.stdout)["items"]}
    assert items["1"]["status"] == "no_change" and items["2"]["status"] == "merged"

    client = gh()
    prs = client.paginate(f"/repos/{REPO}/pulls", {"state": "all"})
    assert [p["title"] for p in prs] == ["add mod 8"] and prs[0]["merged"]  # no PR for the empty item
    issue = client.get_issue(1)
    assert issue["state"] == "open"
    assert "automation-claimed" not in [lbl["name"] for lbl in issue.get("labels", [])]
    notes = [c["body"] for c in client.comments(1)]
    assert len(notes) == 1 and "did not merge this item" in notes[0] and "no commit" in notes[0]
    assert client.get_issue(2)["state"] == "closed"


HOOK = """#!/bin/sh
# Hold the pushing loop here, after the ref moved, while the marker exists (the test kills it).
while [ -e "{marker}" ]; do sleep 0.1; done
"""


def test_sigkill_after_the_target_moved_is_resumed_as_merged_not_no_change(loop_workspace, tt, tmp_path):
    """The lane is killed while its push to the remote target is finishing (the ref already
    moved, nothing recorded yet): the lane that takes the item over finds the content on the
    target, recognises this item's own landing (its `Work-Item:` commit) and merges it once."""
    from tutti.workspace import load_workspace_at

    remote = tmp_path / "origin.git"
    loop = ('[loop]\nworkflow = "build"\nlanes = 1\nremote = "origin"\nreviewers = ["ci"]\nlease_ttl_secs = 3\n'
            'poll_secs = 0.3\n[loop.merge_queue]\nverify = ["python3 check.py"]\n')
    root = loop_workspace(loop)
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(root, "remote", "add", "origin", str(remote))
    git(root, "push", "-q", "origin", "main")
    base = git(remote, "rev-parse", "main").strip()
    marker = tmp_path / "hold-push"
    marker.write_text("")
    hook = remote / "hooks" / "post-receive"
    hook.write_text(HOOK.format(marker=marker))
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    [key] = add_items(root, ["add mod 9"])
    ws = load_workspace_at(root)

    first = subprocess.Popen([sys.executable, "-m", "tutti", "loop", "--once", "--first-lane", "1"], cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ),
                             start_new_session=True)
    deadline = time.monotonic() + 180
    while git(remote, "rev-parse", "main").strip() == base and time.monotonic() < deadline:
        time.sleep(0.05)
    landed = git(remote, "rev-parse", "main").strip()
    assert landed != base, "the first lane never pushed"
    os.killpg(first.pid, signal.SIGKILL)  # the loop and its git push, stuck in the hook
    first.wait(10)
    marker.unlink()
    assert not [k for k, _ in _events(ws, key) if k == "loop.item.landed"]  # killed before recording

    second = tt("loop", "--once", "--first-lane", "2", "--json", cwd=root, timeout=240)
    assert second.returncode == 0, second.stdout + second.stderr
    [item] = json.loads(second.stdout)["items"]
    assert item["status"] == "merged" and item["resumed"] is True and item["head"] == landed
    assert git(remote, "rev-parse", "main").strip() == landed  # landed once, not again
    kinds = [k for k, _ in _events(ws, key)]
    assert kinds.count("loop.item.landed") == 1 and kinds.count("loop.item.closed") == 1
    assert "loop.item.no_change" not in kinds
    [already] = [d for k, d in _events(ws, key) if k == "loop.item.landed"]
    assert already["already"] is True


def test_crash_after_the_queue_recorded_the_landing_uses_its_record(loop_workspace, tt):
    """Killed after `merge_queue.landed` but before `loop.item.landed` (state reproduced by
    cutting the item's later records from the spine): the queue's record names the head."""
    import sqlite3

    from tutti.intake import local
    from tutti.workspace import load_workspace_at

    root = loop_workspace(lanes=1)
    [key] = add_items(root, ["add mod 10"])
    first = tt("loop", "--once", "--json", cwd=root, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    head = git(root, "rev-parse", "main").strip()
    ws = load_workspace_at(root)
    db = sqlite3.connect(ws.store.path)
    with db:
        db.execute("DELETE FROM events WHERE kind IN ('loop.item.landed', 'loop.item.closed', 'loop.item.finished')"
                   " AND json_extract(data, '$.key') = ?", (key,))
    db.close()
    number = key.rsplit("#", 1)[1]
    local.set_state(ws.store, "queue", number, "open")  # the kill came before the close
    # the squashed commit's trailer must not be what finds it here: drop it from main's message
    git(root, "commit", "-q", "--amend", "-m", "add mod 10")
    head = git(root, "rev-parse", "main").strip()
    with sqlite3.connect(ws.store.path) as db:
        db.execute("UPDATE events SET data = json_set(data, '$.head', ?) WHERE kind = 'merge_queue.landed'", (head,))

    second = tt("loop", "--once", "--json", cwd=root, timeout=240)
    assert second.returncode == 0, second.stdout + second.stderr
    [item] = json.loads(second.stdout)["items"]
    assert item["status"] == "merged" and item["resumed"] is True and item["head"] == head
    assert git(root, "rev-parse", "main").strip() == head
    listed = json.loads(tt("queue", "list", "--all", "--json", cwd=root).stdout)
    assert [i["state"] for i in listed] == ["done"]


def test_tt_loop_text_output_names_the_reason_and_the_next_items_merge(git_repo, tt):
    """Without --json: the progress line and the summary say no_change and why (instant agent,
    whose implement command commits nothing for "nothing" items)."""
    root = instant_workspace_noop(git_repo)
    add_items(root, ["add mod 1", "nothing 2", "add mod 3"])
    res = tt("loop", "--once", cwd=root, timeout=180)
    assert res.returncode == 1, res.stdout + res.stderr
    out = res.stdout
    assert "2 merged, 1 with no change to merge (left open), 0 not merged" in out, out
    assert "#2 no_change — the workflow run" in out, out
    assert "made no commit on tutti/implementer-1" in out
    assert set(git(root, "ls-tree", "--name-only", "main").split()) >= {"mod_1.py", "mod_3.py"}
    listed = tt("queue", "list", cwd=root).stdout
    assert "nothing 2" in listed and "no_change: the workflow run" in listed, listed


def test_forge_crash_between_the_pr_merge_and_any_record_resumes_as_merged(loop_workspace, forge, tt):
    """Killed right after the forge merged the PR (state reproduced by cutting every later
    record, the queue's included, and reopening the issue): the PR's merge is the evidence;
    the item is merged once, the issue closed with its one comment — not `no_change`."""
    import sqlite3

    from tests.loop.test_loop_forge import INTAKE, LOOP, REPO, bare, gh

    from tutti.workspace import load_workspace_at

    root = loop_workspace(LOOP.format(lanes=1).replace('["ci", "bot"]', '["ci"]'), intake_toml=INTAKE)
    meta = forge.create_repo(REPO)
    git(root, "remote", "add", "origin", meta["clone_url"])
    git(root, "push", "-q", "origin", "main")
    forge.create_issue(REPO, "add mod 11", labels=["agent-ready"])
    first = tt("loop", "--once", "--json", cwd=root, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    [item] = json.loads(first.stdout)["items"]
    key, head = item["key"], git(bare(forge), "rev-parse", "main").strip()
    assert "Work-Item:" not in git(bare(forge), "log", "-1", "--format=%B", "main")  # only the PR tells
    ws = load_workspace_at(root)
    with sqlite3.connect(ws.store.path) as db:
        db.execute("DELETE FROM events WHERE kind IN ('loop.item.landed', 'loop.item.closed', 'loop.item.finished')"
                   " AND json_extract(data, '$.key') = ?", (key,))
        db.execute("DELETE FROM events WHERE kind = 'merge_queue.landed'")
    client = gh()
    client.http.request("PATCH", f"/repos/{REPO}/issues/1", json={"state": "open"})

    second = tt("loop", "--once", "--json", cwd=root, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    [again] = json.loads(second.stdout)["items"]
    assert again["status"] == "merged" and again["resumed"] is True and again["head"] == head, again
    assert git(bare(forge), "rev-parse", "main").strip() == head  # nothing landed twice
    prs = client.paginate(f"/repos/{REPO}/pulls", {"state": "all"})
    assert len(prs) == 1 and prs[0]["merged"]
    assert client.get_issue(1)["state"] == "closed"
    assert len([c for c in client.comments(1) if "tutti-loop item=" in c["body"]]) == 1
    assert not [c for c in client.comments(1) if "did not merge" in c["body"]]


def test_target_gains_the_same_content_during_review_so_the_queue_finds_nothing_to_land(loop_workspace, tmp_path):
    """The lane's change was real when its run ended, but while the ci reviewer ran, someone
    pushed the same content to main: the merge queue rejects it `no_change`, the lane reports
    it (not merged at the unchanged tip), the item stays open."""
    from tutti.workspace import load_workspace_at

    marker = tmp_path / "verifying"
    verify = f"python3 -c 'import pathlib, time; pathlib.Path(\\\"{marker}\\\").touch(); time.sleep(3)' && python3 check.py"
    root = loop_workspace('[loop]\nworkflow = "build"\nlanes = 1\nreviewers = ["ci"]\npoll_secs = 0.3\n'
                          f'[loop.merge_queue]\nverify = ["{verify}"]\n')
    [key] = add_items(root, ["add mod 12"])
    loop = subprocess.Popen([sys.executable, "-m", "tutti", "loop", "--once", "--json"], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    deadline = time.monotonic() + 120
    while not marker.exists() and loop.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), loop.communicate()
    (root / "mod_12.py").write_text(GOOD)  # the same module, landed by someone else meanwhile
    git(root, "add", "mod_12.py")
    git(root, "commit", "-q", "-m", "mod 12 by hand")
    tip = git(root, "rev-parse", "main").strip()
    out, err = loop.communicate(timeout=180)
    assert loop.returncode == 1, out + err
    [item] = json.loads(out)["items"]
    assert item["status"] == "no_change", item
    assert "review round 1" in item["message"] and "already there" in item["message"]
    assert git(root, "rev-parse", "main").strip() == tip
    ws = load_workspace_at(root)
    rejected = [e.data for e in ws.store.read_events(kinds=["merge_queue.rejected"]) if e.data.get("item") == key]
    assert [d["reason"] for d in rejected] == ["no_change"]  # the queue said it, not the pre-check


def test_a_later_loop_tries_a_no_change_item_again_as_a_new_attempt(git_repo, tt):
    from tutti.intake import local
    from tutti.workspace import load_workspace_at

    root = instant_workspace_noop(git_repo)
    [key] = add_items(root, ["nothing 1"])
    for attempt in (1, 2):
        res = tt("loop", "--once", "--json", cwd=root, timeout=180)
        assert res.returncode == 1, res.stdout + res.stderr
        [item] = json.loads(res.stdout)["items"]
        assert item["status"] == "no_change" and item["resumed"] is False
    ws = load_workspace_at(root)
    bodies = [c["body"] for c in local.comments(ws.store, "queue", key.rsplit("#", 1)[1])]
    assert len(bodies) == 2 and "attempt 1)" in bodies[0] and "attempt 2)" in bodies[1]
    started = [d["attempt"] for k, d in _events(ws, key) if k == "loop.item.started"]
    assert started == [1, 2]


def instant_workspace_noop(git_repo):
    """The instant workspace whose implement command commits nothing for "nothing" items."""
    from tests.loop.conftest import instant_workspace

    root = instant_workspace(git_repo, lanes=1)
    toml = root / "tutti.toml"
    toml.write_text(toml.read_text().replace('run = "printf', 'run = "case {{item.title}} in *nothing*) exit 0;; esac; printf', 1))
    return root
