"""`tt loop` end to end on a local queue: real git, tmux, fake agents, SQLite."""

from __future__ import annotations

import json

from tests.loop.conftest import add_items, git, verify_every_commit


def test_three_items_two_lanes_all_merge_and_close(loop_workspace, tt):
    root = loop_workspace(lanes=2)
    base = git(root, "rev-parse", "main").strip()
    keys = add_items(root, ["add mod 1", "add mod 2", "add mod 3"])
    res = tt("loop", "--once", "--json", cwd=root, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    report = json.loads(res.stdout)
    assert report["merged"] == 3
    assert sorted(i["key"] for i in report["items"]) == sorted(keys)
    assert {i["lane"] for i in report["items"]} <= {"lane-1", "lane-2"}
    tree = set(git(root, "ls-tree", "--name-only", "main").split())
    assert {"mod_1.py", "mod_2.py", "mod_3.py"} <= tree
    verify_every_commit(root, base)
    listed = json.loads(tt("queue", "list", "--all", "--json", cwd=root).stdout)
    assert all(i["data"]["state"] == "done" for i in listed), listed


def test_a_first_attempt_that_breaks_verify_is_sent_back_fixed_and_merged(loop_workspace, tt):
    from tests.loop.conftest import prompts

    root = loop_workspace(lanes=1)
    base = git(root, "rev-parse", "main").strip()
    [key] = add_items(root, ["broken mod 4"])
    res = tt("loop", "--once", "--json", cwd=root, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    [item] = json.loads(res.stdout)["items"]
    assert item["status"] == "merged" and item["rounds"] == 2 and len(item["fix_runs"]) == 1
    sent = prompts(root, "implementer")  # every lane clone records to the declared agent's file
    fix = [p for p in sent if "requested changes" in p]
    assert len(fix) == 1 and "FAILED mod_4.py" in fix[0]  # the failing output went back to the author
    assert (git(root, "show", "main:mod_4.py")).strip().endswith("return True")
    verify_every_commit(root, base)

    from tutti.workspace import load_workspace_at

    ws = load_workspace_at(root)
    rounds = [e.data for e in ws.store.read_events(kinds=["loop.review.round"]) if e.data["key"] == key]
    assert [r["verdict"] for r in rounds] == ["request_changes", "approve"]
    assert rounds[0]["findings"][0]["reviewer"] == "ci"


def test_changes_still_requested_after_max_rounds_fail_the_item_and_leave_main_alone(loop_workspace, tt):
    root = loop_workspace('[loop]\nworkflow = "build"\nreviewers = ["ci"]\nmax_review_rounds = 0\n'
                          'poll_secs = 0.5\n[loop.merge_queue]\nverify = ["python3 check.py"]\n')
    tip = git(root, "rev-parse", "main").strip()
    add_items(root, ["broken mod 5"])
    res = tt("loop", "--once", "--json", cwd=root, timeout=300)
    assert res.returncode == 1
    [item] = json.loads(res.stdout)["items"]
    assert item["status"] == "failed" and "after 0 fix round" in item["message"]
    assert git(root, "rev-parse", "main").strip() == tip
    listed = json.loads(tt("queue", "list", "--json", cwd=root).stdout)
    assert [i["title"] for i in listed] == ["broken mod 5"]  # still open for a person to look at
