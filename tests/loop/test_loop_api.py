"""`POST /v1/actions/loop` runs the loop inside `tt serve`; `approve` decides a merge approval by id."""

from __future__ import annotations

import time

import httpx
from tests.loop.conftest import add_items, git, instant_workspace
from tests.serve.live import load, serving


def _wait_event(ws, kind: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = ws.store.read_events(kinds=[kind])
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no {kind} event within {timeout}s")


def test_the_api_starts_the_loop_which_merges_the_queue(git_repo):
    root = instant_workspace(git_repo, lanes=2)
    add_items(root, ["add mod 1", "add mod 2"])
    ws = load(root)
    with serving([ws]) as url, httpx.Client(base_url=url, timeout=30) as client:
        r = client.post("/v1/actions/loop", json={"once": True})
        assert r.status_code == 200, r.text
        assert r.json()["data"]["started"] is True and r.json()["data"]["lanes"] == 2
        again = client.post("/v1/actions/loop", json={})
        assert again.json()["data"]["started"] is False  # one loop per workspace and server
        [status] = client.get("/v1/loop").json()["data"]
        assert status["workspace"] == "instant" and "leases" in status
        [stopped] = _wait_event(ws, "loop.stopped")
        assert stopped.data["merged"] == 2
    assert {"mod_1.py", "mod_2.py"} <= set(git(root, "ls-tree", "--name-only", "main").split())
    audit = [e.data for e in ws.store.read_events(kinds=["api.action"])]
    assert [a["action"] for a in audit][:2] == ["loop", "loop"]


def test_a_human_approval_gate_waits_for_approve_over_the_api(git_repo):
    root = instant_workspace(git_repo, lanes=1, reviewers='["ci", "human"]')
    [key] = add_items(root, ["add mod 3"])
    ws = load(root)
    with serving([ws]) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.post("/v1/actions/loop", json={"once": True}).status_code == 200
        [asked] = _wait_event(ws, "loop.approval.requested")
        assert asked.data["key"] == key
        pending = client.get("/v1/approvals").json()["data"]
        assert [(p["approval_id"], p["tool"]) for p in pending] == [(asked.data["approval_id"], "merge")]
        module = f"mod_{key.rsplit('#', 1)[1]}.py"  # the instant agent names the module by item id
        assert module not in git(root, "ls-tree", "--name-only", "main")  # nothing merges before approval
        r = client.post("/v1/actions/approve", json={"approval_id": asked.data["approval_id"], "approve": True})
        assert r.status_code == 200, r.text
        [stopped] = _wait_event(ws, "loop.stopped")
        assert stopped.data["merged"] == 1
    assert module in git(root, "ls-tree", "--name-only", "main")


def test_a_denied_merge_fails_the_item_and_leaves_main_alone(git_repo, tt):
    root = instant_workspace(git_repo, lanes=1, reviewers='["human"]')
    add_items(root, ["add mod 4"])
    tip = git(root, "rev-parse", "main").strip()
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "tutti", "loop", "--once"], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    ws = load(root)
    [asked] = _wait_event(ws, "loop.approval.requested")
    listed = tt("approvals", "list", cwd=root)
    assert asked.data["approval_id"] in listed.stdout
    assert tt("approvals", "deny", asked.data["approval_id"], "--reason", "not now", cwd=root).returncode == 0
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "merge denied" in out and "not now" in out
    assert git(root, "rev-parse", "main").strip() == tip


def test_the_supervisor_runs_an_autostart_loop_and_stops_it_with_the_server(git_repo):
    import threading

    from tutti.supervisor.core import Parts, Supervisor

    root = instant_workspace(git_repo, lanes=1)
    (root / "tutti.toml").write_text((root / "tutti.toml").read_text().replace(
        "[loop]\n", "[loop]\nautostart = true\n"))
    ws = load(root)
    assert Parts.for_host(ws, "serve").loop and not Parts.for_host(ws, "process").loop
    add_items(root, ["add mod 1"])
    stop = threading.Event()
    sup = Supervisor([ws], host="serve", parts=lambda w: Parts(watch=False, recover=False, loop=True), stop=stop)
    sup.start()
    try:
        _wait_event(ws, "loop.item.landed")
        add_items(root, ["add mod 2"])  # the loop keeps polling while the server runs
        deadline = time.monotonic() + 60
        while len(ws.store.read_events(kinds=["loop.item.landed"])) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(ws.store.read_events(kinds=["loop.item.landed"])) == 2
    finally:
        sup.close()
    [stopped] = _wait_event(ws, "loop.stopped", timeout=30)
    assert stopped.data["merged"] == 2
