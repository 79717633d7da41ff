"""Claim costs: store-lease acquisition under contention, the GitHub-comment claim race of
`tt issue-claim acquire` against the scripted forge, and the forge's request latency.

    python bench/bench_claims.py [--claimants 8] [--items 40] [--racers 20] [--issues 5]

Prints figures; asserts nothing (the acceptance tests assert correctness). Everything runs on
127.0.0.1 in a temp dir.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLAIMANT = r"""
import json, sys, time
from pathlib import Path
from tutti.store import open_store
from tutti.intake import leases
root, me, n, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
store = open_store(root, workspace="bench")
while time.time() < go:
    time.sleep(0.002)
won, t0 = 0, time.perf_counter()
for i in range(n):
    if leases.acquire(store, f"queue:bench#{i}", me, 600) is not None:
        won += 1
print(json.dumps({"won": won, "secs": time.perf_counter() - t0}))
"""


def store_leases(claimants: int, items: int) -> None:
    from tutti.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        open_store(root, workspace="bench").close()
        go = time.time() + 2.0
        procs = [subprocess.Popen([sys.executable, "-c", CLAIMANT, tmp, f"c{i}", str(items), str(go)],
                                  stdout=subprocess.PIPE, text=True) for i in range(claimants)]
        results = [json.loads(p.communicate()[0]) for p in procs]
        attempts = claimants * items
        wall = max(r["secs"] for r in results)
        print(f"store leases: {claimants} processes x {items} items = {attempts} acquire attempts, "
              f"{sum(r['won'] for r in results)} won (expect {items}); slowest process {wall:.2f}s, "
              f"{attempts / wall:.0f} attempts/s, {wall / items * 1000:.1f} ms per item per process")


def issue_claim_race(racers: int, issues: int) -> None:
    from tutti.testing.forge import ScriptedForge

    with tempfile.TemporaryDirectory() as tmp, ScriptedForge(Path(tmp) / "forge") as forge:
        forge.create_repo("acme/app")
        for i in range(issues):
            forge.create_issue("acme/app", f"Issue {i}", labels=["agent-ops"])
        env = {**os.environ, "GITHUB_API_URL": forge.url, "GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "acme/app"}
        t0 = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-m", "tutti", "issue-claim", "acquire", "--output", f"{tmp}/s{i}.json"],
                                  cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for i in range(racers)]
        codes = [p.wait() for p in procs]
        wall = time.perf_counter() - t0
        print(f"issue-claim race: {racers} processes for {issues} issues -> {codes.count(0)} winners in {wall:.2f}s "
              f"wall, {len(forge.requests())} forge requests")
        from tutti.forge.github import GitHub

        gh = GitHub("acme/app", api_url=forge.url, token="t")
        lat = []
        for _ in range(200):
            t = time.perf_counter()
            gh.list_issues(labels=["agent-ops"])
            lat.append((time.perf_counter() - t) * 1000)
        lat.sort()
        print(f"forge GET issues (client round trip): p50 {statistics.median(lat):.2f} ms, p95 {lat[189]:.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claimants", type=int, default=8)
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--racers", type=int, default=20)
    ap.add_argument("--issues", type=int, default=5)
    args = ap.parse_args()
    store_leases(args.claimants, args.items)
    issue_claim_race(args.racers, args.issues)


if __name__ == "__main__":
    main()
