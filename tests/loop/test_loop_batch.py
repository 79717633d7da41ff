"""The loop landing through a batch=4 merge queue: one bad change among four is isolated by
bisection, named with its failing output and returned to its lane; the three good ones land."""

from __future__ import annotations

import json

from tests.loop.conftest import add_items, git, instant_workspace, verify_every_commit


def test_batch_of_four_with_one_bad_change_lands_three_and_returns_the_bad_one(git_repo, tt):
    root = instant_workspace(git_repo, lanes=4, batch=4, batch_wait=20, reviewers="[]", rounds=0)
    base = git(root, "rev-parse", "main").strip()
    keys = add_items(root, ["add mod a", "add mod b", "broken mod c", "add mod d"])
    res = tt("loop", "--once", "--json", cwd=root, timeout=300)
    assert res.returncode == 1  # one item could not be merged
    items = {i["key"]: i for i in json.loads(res.stdout)["items"]}
    bad = keys[2]
    assert sorted(k for k, i in items.items() if i["status"] == "merged") == sorted(k for k in keys if k != bad)
    assert items[bad]["status"] == "failed"
    bad_module = f"mod_{bad.rsplit('#', 1)[1]}.py"
    assert f"FAILED {bad_module}" in items[bad]["message"]  # named, with the failing output

    from tutti.workspace import load_workspace_at

    ws = load_workspace_at(root)
    rejected = [e.data for e in ws.store.read_events(kinds=["merge_queue.rejected"])]
    assert [(r["item"], r["reason"]) for r in rejected] == [(bad, "verify_failed")], rejected
    assert ws.store.read_events(kinds=["merge_queue.bisect"])  # the batch of four was split
    landed = [e.data for e in ws.store.read_events(kinds=["merge_queue.landed"])]
    assert sorted(i for d in landed for i in d["items"]) == sorted(k for k in keys if k != bad)
    assert bad_module not in git(root, "ls-tree", "--name-only", "main")
    verify_every_commit(root, base)


def test_a_lane_never_shares_its_agent_with_another_live_holder(git_repo, tt):
    """An implementer busy elsewhere (another process finishing a crashed lane's item with it)
    is waited for: the lane gives the item back and takes it again once the agent is free."""
    import time

    from tutti.intake import leases
    from tutti.workspace import load_workspace_at

    root = instant_workspace(git_repo, lanes=1)
    toml = root / "tutti.toml"
    toml.write_text(toml.read_text().replace("lease_ttl_secs = 30", "lease_ttl_secs = 2"))
    [key] = add_items(root, ["add mod 1"])
    ws = load_workspace_at(root)
    busy = leases.acquire(ws.store, "loop-agent:instant:implementer-1", "elsewhere:1:lane-1", ttl=6)
    assert busy is not None
    started = time.monotonic()
    res = tt("loop", "--once", "--json", cwd=root, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["merged"] == 1
    assert time.monotonic() - started >= 3  # it waited for the other holder's lease to end
    assert [e.data["key"] for e in ws.store.read_events(kinds=["loop.agent_busy"])][:1] == [key]


def test_with_a_remote_and_no_prs_the_queue_pushes_the_verified_target(git_repo, tmp_path, tt):
    root = instant_workspace(git_repo, lanes=2)
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(root, "remote", "add", "origin", str(origin))
    git(root, "push", "-q", "origin", "main")
    toml = root / "tutti.toml"
    toml.write_text(toml.read_text().replace("[loop]\n", '[loop]\nremote = "origin"\n'))
    base = git(root, "rev-parse", "main").strip()
    add_items(root, ["add mod 1", "add mod 2", "add mod 3"])
    res = tt("loop", "--once", "--json", cwd=root, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["merged"] == 3
    assert {"mod_1.py", "mod_2.py", "mod_3.py"} <= set(git(origin, "ls-tree", "--name-only", "main").split())
    assert len(git(origin, "rev-list", f"{base}..main").split()) == 3  # one verified commit per item
