"""The local queue: `tt queue` as a user runs it, and claim_next over it."""

from __future__ import annotations

import json

from tutti.intake.claims import claim_next
from tutti.intake.queue import LocalQueue
from tutti.workspace import load_workspace_at


def _ws(git_repo):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "qws"\n\n[[intake]]\nname = "todo"\nkind = "queue"\n')
    return git_repo


def test_queue_add_list_show_drop(git_repo, tt):
    root = _ws(git_repo)
    r = tt("queue", "add", "Fix login", "--body", "Users cannot log in", "-l", "bug", cwd=root)
    assert r.returncode == 0, r.stderr
    assert "Queued #1: Fix login (queue:qws#1)" in r.stdout
    tt("queue", "add", "Write docs", cwd=root)
    listed = json.loads(tt("queue", "list", "--json", cwd=root).stdout)
    assert [i["title"] for i in listed] == ["Fix login", "Write docs"]
    assert listed[0]["labels"] == ["bug"] and listed[0]["key"] == "queue:qws#1"
    assert json.loads(tt("queue", "list", "-l", "bug", "--json", cwd=root).stdout)[0]["id"] == "1"
    shown = tt("queue", "show", "1", cwd=root)
    assert "Users cannot log in" in shown.stdout
    assert tt("queue", "drop", "2", cwd=root).returncode == 0
    assert [i["id"] for i in json.loads(tt("queue", "list", "--json", cwd=root).stdout)] == ["1"]
    everything = json.loads(tt("queue", "list", "--all", "--json", cwd=root).stdout)
    assert [i["state"] for i in everything] == ["open", "dropped"]
    missing = tt("queue", "show", "42", cwd=root)
    assert missing.returncode != 0 and missing.stderr.startswith("error[not_found]: no queue item '42'")
    empty = tt("queue", "add", "  ", cwd=root)
    assert empty.returncode == 2 and "error[usage]" in empty.stderr


def test_claim_next_skips_held_items_and_close_marks_done(git_repo, tt):
    root = _ws(git_repo)
    for title in ("one", "two"):
        tt("queue", "add", title, cwd=root)
    ws = load_workspace_at(root)
    source = LocalQueue(ws, ws.config.intake[0])
    first = claim_next(ws.store, [source], "lane-1")
    second = claim_next(ws.store, [source], "lane-2")
    assert (first.item.title, second.item.title) == ("one", "two")
    assert claim_next(ws.store, [source], "lane-3") is None
    assert first.item.intake == "todo"
    source.close(first.item, comment="merged in abc123")
    first.release(ws.store)
    assert [i.title for i in source.list_open()] == ["two"]
    shown = json.loads(tt("queue", "show", "1", "--json", cwd=root).stdout)
    assert shown["state"] == "done" and shown["comments"][0]["body"] == "merged in abc123"
    assert json.loads(tt("queue", "show", "2", "--json", cwd=root).stdout)["claimed_by"] == "lane-2"


def test_intake_list_and_claims_show_who_holds_what(git_repo, tt):
    root = _ws(git_repo)
    for title in ("one", "two"):
        tt("queue", "add", title, cwd=root)
    ws = load_workspace_at(root)
    claim = claim_next(ws.store, [LocalQueue(ws, ws.config.intake[0])], "lane-7")
    rows = json.loads(tt("intake", "list", "--json", cwd=root).stdout)
    assert [(r["key"], r["intake"], r["claimed_by"], r["fencing_token"]) for r in rows] == [
        ("queue:qws#1", "todo", "lane-7", 1), ("queue:qws#2", "todo", None, None)]
    held = json.loads(tt("intake", "claims", "--json", cwd=root).stdout)
    assert [(c["key"], c["holder"], c["active"]) for c in held] == [("queue:qws#1", "lane-7", True)]
    claim.release(ws.store)
    assert json.loads(tt("intake", "claims", "--json", cwd=root).stdout) == []
    assert "queue:qws#1" in tt("intake", "claims", "--all", cwd=root).stdout
    bad = tt("intake", "list", "--intake", "nope", cwd=root)
    assert bad.returncode == 2 and "no [[intake]] named 'nope'" in bad.stderr
