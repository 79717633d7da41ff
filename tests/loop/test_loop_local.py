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
