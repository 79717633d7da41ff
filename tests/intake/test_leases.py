"""Store leases: atomic across real processes, fencing tokens only grow, expiry and sweep."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tutti.intake import leases
from tutti.store import open_store

RACER = r"""
import json, sys, time
from pathlib import Path
from tutti.store import open_store
import pytest

from tutti.intake import leases
root, holder, keys, go = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), float(sys.argv[4])
store = open_store(root, workspace="race")
while time.time() < go:
    time.sleep(0.005)
won = []
for key in keys:
    lease = leases.acquire(store, key, holder, 60)
    if lease is not None:
        won.append([key, lease.fencing_token])
        break  # one item per claimant, like a lane
print(json.dumps(won))
"""


def _race(root: Path, holders: int, keys: list[str]) -> list[list]:
    open_store(root, workspace="race").close()  # migrate once, as `tt` would before lanes start
    go = time.time() + 1.5
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(root), f"h{i}", json.dumps(keys), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(holders)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    return results


def test_n_claimants_m_items_each_item_won_by_exactly_one(tmp_path):
    keys = [f"queue:race#{i}" for i in range(1, 6)]
    results = _race(tmp_path, 12, keys)
    won = [w for r in results for w in r]
    assert sorted(k for k, _ in won) == keys  # every item taken, none twice
    assert sum(1 for r in results if not r) == 7  # the rest got nothing
    store = open_store(tmp_path, workspace="race")
    held = {lease.key: lease.holder for lease in leases.list_leases(store, active_only=True)}
    assert len(held) == 5 and len(set(held.values())) == 5


def test_fencing_token_grows_across_expiry_and_release(tmp_path):
    store = open_store(tmp_path, workspace="w")
    t0 = 1_000_000.0
    a = leases.acquire(store, "k", "a", 10, now=t0)
    assert a and a.fencing_token == 1
    assert leases.acquire(store, "k", "b", 10, now=t0 + 5) is None  # still held
    again = leases.acquire(store, "k", "a", 10, now=t0 + 5)  # the holder itself renews
    assert again and again.fencing_token == 1
    b = leases.acquire(store, "k", "b", 10, now=t0 + 16)  # expired: b takes over
    assert b and b.fencing_token == 2 and b.holder == "b"
    try:
        leases.heartbeat(store, "k", "a", 1, now=t0 + 16)
        raise AssertionError("a stale holder renewed")
    except leases.LeaseLost as exc:
        assert "no longer held" in exc.message
    assert leases.release(store, "k", "a", 1) is False  # a cannot end b's lease
    assert leases.release(store, "k", "b", 2) is True
    c = leases.acquire(store, "k", "c", 10)
    assert c and c.fencing_token == 3
    assert leases.assert_held(store, "k", "c", 3).holder == "c"
    with pytest.raises(leases.LeaseLost, match=r"lease on k \(token 2\) is stale: now held by c with token 3"):
        leases.assert_held(store, "k", "b", 2)  # b's side effects are fenced off


def test_heartbeat_extends_and_sweep_releases_only_expired(tmp_path):
    store = open_store(tmp_path, workspace="w")
    now = time.time()
    leases.acquire(store, "x:1", "a", 5, now=now - 10)  # long expired
    live = leases.acquire(store, "x:2", "b", 5, now=now)
    renewed = leases.heartbeat(store, "x:2", "b", live.fencing_token, 600)
    assert renewed.expires_at > live.expires_at
    swept = leases.sweep(store)
    assert [lease.key for lease in swept] == ["x:1"]
    assert leases.get(store, "x:1").released_at is not None
    assert leases.get(store, "x:2").active
    kinds = [e.kind for e in store.read_events(kinds=["lease.acquired", "lease.expired"])]
    assert kinds.count("lease.expired") == 1
