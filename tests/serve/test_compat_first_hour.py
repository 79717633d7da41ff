"""Issue #11: idempotency keys reused with another body, and the original's `/v1/webhooks/generic`
body `source` — against a real server on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from .live import load, serving, write_workspace

SLACK_RULE = """
[[webhook]]
source = "slack"
events = ["message"]
workflow = "check"
"""


def test_same_key_with_a_different_body_is_422_and_not_executed(client, workspace):
    headers = {"Idempotency-Key": "k-body-change"}
    first = client.post("/v1/actions/run", json={"workflow": "check", "dry_run": True}, headers=headers)
    assert first.status_code == 200
    second = client.post("/v1/actions/run", json={"workflow": "slow", "dry_run": True}, headers=headers)
    assert second.status_code == 422, second.text
    assert second.json()["error"]["code"] == "idempotency_mismatch"
    assert second.headers.get("Idempotent-Replayed") is None
    assert len(workspace.store.read_events(0, kinds=["api.action"])) == 1


def test_same_key_with_the_same_body_replays(client, workspace):
    headers = {"Idempotency-Key": "k-same"}
    body = {"workflow": "check", "dry_run": True}
    first = client.post("/v1/actions/run", json=body, headers=headers)
    # Key order and the body-field key do not change the request's identity.
    second = client.post("/v1/actions/run", json={"dry_run": True, "workflow": "check"}, headers=headers)
    assert second.status_code == 200 and second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert len(workspace.store.read_events(0, kinds=["api.action"])) == 1


def test_webhook_delivery_id_reused_with_another_body_is_422(client, workspace):
    headers = {"Idempotency-Key": "hook-1"}
    assert client.post("/v1/webhooks/generic", json={"event": "a"}, headers=headers).status_code == 200
    again = client.post("/v1/webhooks/generic", json={"event": "b"}, headers=headers)
    assert again.status_code == 422
    assert len(workspace.store.read_events(0, kinds=["webhook.received"])) == 1


@pytest.fixture
def slack_hooked(git_repo):
    ws = load(write_workspace(git_repo, extra=SLACK_RULE))
    with serving([ws]) as url:
        yield url, ws


def test_generic_endpoint_matches_rules_on_the_bodys_source(slack_hooked):
    url, ws = slack_hooked
    r = httpx.post(url + "/v1/webhooks/generic",
                   json={"source": "slack", "event": "message", "payload": {"text": "hi"}}, timeout=30)
    data = r.json()["data"]
    assert r.status_code == 200, r.text
    assert data["source"] == "slack" and data["matched"] is True and data["triggers_fired"] == 1
    assert data["dispatched"][0]["type"] == "workflow"


def test_generic_endpoint_without_source_stays_generic(slack_hooked):
    url, _ = slack_hooked
    data = httpx.post(url + "/v1/webhooks/generic", json={"event": "message"}, timeout=30).json()["data"]
    assert data["source"] == "generic" and data["matched"] is False
