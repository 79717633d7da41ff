"""Human approval of API-direct tool calls over HTTP: list pending, approve/deny once."""

from __future__ import annotations

from tutti.direct.approvals import request
from tutti.direct.policy import ApprovalRequest


def pending(workspace, approval_id: str = "ap-1", run_id: str = "run_1"):
    return request(workspace.store, ApprovalRequest(approval_id, run_id, "planner", "shell", {"command": "make test"}))


def test_pending_approvals_are_listed_and_decided_once(client, workspace):
    pending(workspace)
    rows = client.get("/v1/approvals").json()["data"]
    assert [(r["approval_id"], r["tool"], r["status"], r["workspace"]) for r in rows] == \
        [("ap-1", "shell", "pending", "demo")]
    r = client.post("/v1/actions/approve", json={"run_id": "run_1", "approval_id": "ap-1", "approve": True})
    assert r.status_code == 200 and r.json()["data"]["result"]["status"] == "approved"
    assert client.get("/v1/approvals").json()["data"] == []
    again = client.post("/v1/actions/approve", json={"run_id": "run_1", "approval_id": "ap-1", "approve": False})
    assert again.status_code == 400 and "already decided" in again.json()["error"]["message"]
    (event,) = workspace.store.read_events(0, kinds=["direct.approval.decided"])
    assert event.run_id == "run_1"


def test_unknown_approval_is_404(client):
    r = client.post("/v1/actions/approve", json={"run_id": "run_1", "approval_id": "nope", "approve": True})
    assert r.status_code == 404


def test_approve_requires_the_decision_field(client):
    r = client.post("/v1/actions/approve", json={"run_id": "run_1", "approval_id": "ap-1"})
    assert r.status_code == 400 and r.json()["error"]["message"] == "missing required field 'approve'"
