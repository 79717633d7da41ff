"""Idempotency keys: one execution per key even under concurrency, 409 on reuse for another
action, stored envelopes replayed, expiry — counted from the store, not from response text."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tutti.serve import idempotency


def _fire(url: str, n: int, path: str, body: dict, headers: dict) -> list[httpx.Response]:
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(lambda _: httpx.post(url + path, json=body, headers=headers, timeout=60), range(n)))


def test_twenty_concurrent_duplicate_runs_execute_once(server, workspace):
    responses = _fire(server, 20, "/v1/actions/run", {"workflow": "check"}, {"Idempotency-Key": "deploy-1"})
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["data"]["run_id"] for r in responses}) == 1
    assert workspace.store.query("SELECT COUNT(*) FROM runs")[0][0] == 1
    assert len(workspace.store.read_events(0, kinds=["workflow.started"])) == 1
    assert len(workspace.store.read_events(0, kinds=["api.action"])) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19


def test_twenty_concurrent_duplicate_webhooks_record_once(server, workspace):
    responses = _fire(server, 20, "/v1/webhooks/github", {"action": "opened"},
                      {"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-77"})
    assert {r.status_code for r in responses} == {200}
    assert len(workspace.store.read_events(0, kinds=["webhook.received"])) == 1


def test_body_field_key_works_like_the_header(client, workspace):
    body = {"workflow": "check", "dry_run": True, "idempotency_key": "k-body"}
    first, second = client.post("/v1/actions/run", json=body), client.post("/v1/actions/run", json=body)
    assert first.json() == second.json()
    assert len(workspace.store.read_events(0, kinds=["api.action"])) == 1


def test_same_key_for_another_action_is_409(client):
    client.post("/v1/actions/run", json={"workflow": "check", "dry_run": True}, headers={"Idempotency-Key": "k1"})
    r = client.post("/v1/actions/verify", json={}, headers={"Idempotency-Key": "k1"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "idempotency_conflict" and r.json()["action"] == "verify"


def test_failed_execution_releases_the_key(client, workspace):
    headers = {"Idempotency-Key": "retry-me"}
    assert client.post("/v1/actions/send", json={"agent": "planner", "prompt": "x"}, headers=headers).status_code == 400
    assert workspace.store.query("SELECT COUNT(*) FROM idempotency")[0][0] == 0
    ok = client.post("/v1/actions/run", json={"workflow": "check", "dry_run": True}, headers=headers)
    assert ok.status_code == 200  # the key was free again (and is now bound to `run`)


def test_expired_keys_are_pruned_and_reusable(workspace):
    from datetime import timedelta

    assert idempotency.claim(workspace.store, "old", "run", ttl=timedelta(seconds=-1)) is None
    with workspace.store.transaction() as conn:
        idempotency.complete(conn, "old", 200, {"ok": True})
    # Expired: the next claim prunes it and owns the key again instead of replaying.
    assert idempotency.claim(workspace.store, "old", "up") is None
    rows = workspace.store.query("SELECT action, state FROM idempotency")
    assert [tuple(r) for r in rows] == [("up", "pending")]


def test_stored_rows_expire_after_a_day_by_default(client, workspace):
    client.post("/v1/actions/run", json={"workflow": "check", "dry_run": True}, headers={"Idempotency-Key": "day"})
    row = workspace.store.query("SELECT created_at, expires_at, state FROM idempotency WHERE key = 'day'")[0]
    from datetime import datetime

    created, expires = (datetime.fromisoformat(row[i].replace("Z", "+00:00")) for i in (0, 1))
    assert row["state"] == "done" and (expires - created).total_seconds() == 24 * 3600
