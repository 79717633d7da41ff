"""Every read endpoint and every error code, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json

import httpx

from .live import load, serving, write_workspace


def test_success_envelope_shape(client):
    body = client.get("/v1/health").json()
    assert body == {"ok": True, "action": "health.list", "error": None, "data": []}


def test_health_lists_state_files_and_gets_one(client, workspace):
    folder = workspace.state_dir / "health"
    folder.mkdir(parents=True)
    (folder / "planner.json").write_text(json.dumps({"agent": "planner", "activity_state": "idle"}))
    listed = client.get("/v1/health").json()["data"]
    assert [r["agent"] for r in listed] == ["planner"] and listed[0]["workspace"] == "demo"
    one = client.get("/v1/health/demo/planner")
    assert one.status_code == 200 and one.json()["data"]["activity_state"] == "idle"


def test_health_derived_from_the_watchers_state_file(client, workspace):
    from tutti.runtimes.base import AgentState
    from tutti.sessions.agent_state import update_state

    update_state(workspace.state_dir, "builder", state=AgentState.AUTH_FAILED, detail="login expired",
                 runtime="fake", session_name="tutti-demo-builder")
    record = client.get("/v1/health/demo/builder").json()["data"]
    assert record["auth_state"] == "failed" and record["activity_state"] == "unknown"
    assert record["reason"] == "login expired" and record["status"] == "Auth Failed: login expired"


def test_health_of_unknown_agent_is_404_not_found(client):
    r = client.get("/v1/health/demo/ghost")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found" and "ghost" in r.json()["error"]["message"]


def test_health_of_agent_without_record_is_404(client):
    assert client.get("/v1/health/demo/builder").status_code == 404


def test_unknown_workspace_is_404(client):
    r = client.get("/v1/health/nowhere/planner")
    assert r.status_code == 404 and "nowhere" in r.json()["error"]["message"]


def test_agents_reflect_latest_state_event(client, workspace):
    workspace.store.append_event("agent.working", agent="planner")
    workspace.store.append_event("agent.rate_limited", agent="builder")
    workspace.store.append_event("agent.idle", agent="planner")
    rows = {r["agent"]: r for r in client.get("/v1/agents").json()["data"]}
    assert rows["planner"]["state"] == "idle"
    assert rows["builder"]["state"] == "rate_limited"


def test_workflows_list_stages_from_steps(client):
    wf = client.get("/v1/workflows").json()["data"][0]
    assert wf["name"] == "check" and wf["steps"] == 2
    assert [(s["index"], s["label"]) for s in wf["stages"]] == [(1, "lint"), (2, "test")]


def wait_for_run(client, run_id, *, timeout=30.0):
    import time

    deadline = time.monotonic() + timeout
    while True:
        run = client.get(f"/v1/runs/{run_id}").json()["data"]
        if run["status"] != "running" or time.monotonic() > deadline:
            return run
        time.sleep(0.1)


def test_run_action_returns_run_id_at_once_and_run_finishes_in_background(client):
    r = client.post("/v1/actions/run", json={"workflow": "slow"})
    assert r.status_code == 200
    run_id = r.json()["data"]["run_id"]
    # The 60 s step is still running, yet the request has returned.
    assert client.get(f"/v1/runs/{run_id}").json()["data"]["status"] == "running"
    client.post("/v1/actions/cancel", json={"run_id": run_id})
    r = client.post("/v1/actions/run", json={"workflow": "check"})
    run = wait_for_run(client, r.json()["data"]["run_id"])
    assert run["status"] == "succeeded" and [s["status"] for s in run["steps"]] == ["success", "success"]
    assert [row["run_id"] for row in client.get("/v1/runs").json()["data"]][0] == run["run_id"]


def test_cancel_action_stops_a_running_run(client):
    run_id = client.post("/v1/actions/run", json={"workflow": "slow"}).json()["data"]["run_id"]
    r = client.post("/v1/actions/cancel", json={"run_id": run_id})
    assert r.status_code == 200 and r.json()["data"]["result"] is True
    assert wait_for_run(client, run_id)["status"] == "cancelled"


def test_verify_action_returns_run_id_and_writes_verify_last(client, workspace):
    r = client.post("/v1/actions/verify", json={"workflow": "check"})
    assert r.status_code == 200, r.text
    run = wait_for_run(client, r.json()["data"]["run_id"])
    assert run["status"] == "succeeded" and run["origin"] == "verify"
    import time

    deadline = time.monotonic() + 20
    while not (workspace.state_dir / "verify-last.json").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_verify_without_a_verify_workflow_is_404(client):
    r = client.post("/v1/actions/verify", json={})
    assert r.status_code == 404 and "verify" in r.json()["error"]["message"]


def test_dry_run_returns_plan_without_running(client, workspace):
    r = client.post("/v1/actions/run", json={"workflow": "check", "dry_run": True})
    assert r.status_code == 200 and r.json()["data"]["run_id"] is None and r.json()["data"]["plan"]
    assert workspace.store.query("SELECT COUNT(*) FROM runs")[0][0] == 0


def test_every_api_action_is_in_the_ops_audit_trail(client):
    client.post("/v1/actions/run", json={"workflow": "check", "dry_run": True})
    client.post("/v1/actions/send", json={"agent": "planner", "prompt": "hi"})  # fails: not running
    rows = client.get("/v1/ops").json()["data"]
    assert [(r["data"]["action"], r["data"]["ok"]) for r in rows] == [("send", False), ("run", True)]


def test_unknown_run_is_404_and_bad_run_id_is_400(client):
    assert client.get("/v1/runs/nope").status_code == 404
    r = client.get("/v1/runs/a%20b")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"


def test_logs_and_handoffs_list_files_with_longest_agent_prefix(git_repo):
    root = write_workspace(git_repo, extra='\n[[agent]]\nname = "planner-two"\nruntime = "fake"\n')
    ws = load(root)
    (ws.tutti_dir / "logs").mkdir(parents=True)
    (ws.tutti_dir / "logs" / "planner.log").write_text("x" * 5)
    (ws.tutti_dir / "handoffs").mkdir()
    (ws.tutti_dir / "handoffs" / "planner-two-handoff-20260101-000000.md").write_text("#")
    with serving([ws]) as url:
        logs = httpx.get(url + "/v1/logs").json()["data"]
        handoffs = httpx.get(url + "/v1/handoffs").json()["data"]
    assert logs[0]["file"] == "planner.log" and logs[0]["size_bytes"] == 5
    assert handoffs[0]["agent"] == "planner-two"


def test_policy_decisions_newest_first(client, workspace):
    workspace.store.append_event("policy.allow", agent="planner", data={"decision": "allow"})
    workspace.store.append_event("policy.block", agent="planner", data={"decision": "block"})
    rows = client.get("/v1/policy-decisions").json()["data"]
    assert [r["decision"] for r in rows] == ["block", "allow"]


def test_events_page_with_seq_cursor_and_next_cursor(client, workspace):
    for i in range(5):
        workspace.store.append_event("agent.working", agent="planner", data={"i": i})
    page = client.get("/v1/events", params={"cursor": 0, "limit": 3}).json()["data"]
    assert [e["data"]["i"] for e in page["events"]] == [0, 1, 2]
    rest = client.get("/v1/events", params={"cursor": page["next_cursor"]}).json()["data"]
    assert [e["data"]["i"] for e in rest["events"]] == [3, 4]
    assert rest["next_cursor"] == rest["events"][-1]["seq"]


def test_events_rfc3339_cursor_resumes_after_that_time(client, workspace):
    from tutti.store.db import now_iso

    first = workspace.store.append_event("agent.idle", agent="planner")
    while now_iso() <= first.ts:  # timestamps have millisecond resolution
        pass
    second = workspace.store.append_event("agent.working", agent="planner")
    page = client.get("/v1/events", params={"cursor": first.ts}).json()["data"]
    assert [e["seq"] for e in page["events"]] == [second.seq]
    offset = client.get("/v1/events", params={"cursor": first.ts.replace("Z", "+00:00")}).json()["data"]
    assert [e["seq"] for e in offset["events"]] == [second.seq]


def test_events_kinds_filter(client, workspace):
    workspace.store.append_event("agent.idle", agent="planner")
    workspace.store.append_event("workflow.started", run_id="r")
    kinds = client.get("/v1/events", params={"cursor": 0, "kinds": "workflow.*"}).json()["data"]
    assert [e["kind"] for e in kinds["events"]] == ["workflow.started"]


def test_bad_cursor_is_400(client):
    r = client.get("/v1/events", params={"cursor": "yesterday"})
    assert r.status_code == 400 and "cursor" in r.json()["error"]["message"]


def test_status_probes_sessions(client):
    rows = {r["agent"]: r for r in client.get("/v1/status").json()["data"]}
    assert rows["planner"]["running"] is False and rows["planner"]["state"] == "stopped"
    assert client.get("/v1/voices").json()["data"] == list(rows.values())


def test_focus_reports_each_part(client):
    r = client.get("/v1/agents/demo/planner/focus", params={"lines": 20, "usage": True})
    data = r.json()["data"]
    assert r.status_code == 200 and data["agent"] == "planner" and data["session"].endswith("planner")
    assert data["usage"]["input_tokens"] == 0
    assert data["terminal"] is not None or "terminal" in data["errors"]


def test_focus_of_unknown_agent_is_404(client):
    assert client.get("/v1/agents/demo/ghost/focus").status_code == 404


def test_unknown_endpoint_is_404_route(client):
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404
    assert r.json()["action"] == "route" and r.json()["error"]["message"] == "unknown endpoint: GET /v1/nothing-here"


def test_wrong_method_is_404_route(client):
    r = client.delete("/v1/health")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_unknown_action_is_400(client):
    r = client.post("/v1/actions/explode", json={})
    assert r.status_code == 400 and r.json()["error"] == {
        "code": "action_failed", "message": "unknown action 'explode'",
        "hint": "actions: up, down, send, run, verify, review, land, cancel, approve, loop, message, upload"}
    # the hint is every action the API has (it left out message and upload before)
    documented = {p.rsplit("/", 1)[-1] for p in client.get("/openapi.json").json()["paths"] if p.startswith("/v1/actions/")}
    assert documented == set(r.json()["error"]["hint"].removeprefix("actions: ").split(", "))


def test_missing_required_field(client):
    r = client.post("/v1/actions/send", json={"agent": "planner"})
    assert r.status_code == 400
    assert r.json()["action"] == "send"
    assert r.json()["error"] == {"code": "action_failed", "message": "missing required field 'prompt'"}


def test_unknown_field_and_non_object_body_are_400(client):
    r = client.post("/v1/actions/run", json={"workflow": "check", "bogus": 1})
    assert r.status_code == 400 and r.json()["error"]["message"] == "unknown field 'bogus'"
    r = client.post("/v1/actions/run", content=b"[1,2]", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["ok"] is False


def test_action_on_unknown_agent_or_workflow_is_404(client):
    assert client.post("/v1/actions/send", json={"agent": "ghost", "prompt": "hi"}).status_code == 404
    r = client.post("/v1/actions/run", json={"workflow": "nope"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert client.post("/v1/actions/cancel", json={"run_id": "missing-run"}).status_code == 404


def test_body_over_one_megabyte_is_413(client):
    r = client.post("/v1/actions/send", json={"agent": "planner", "prompt": "x" * (1024 * 1024 + 10)})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


def test_chunked_body_over_one_megabyte_is_413(client):
    def chunks():
        for _ in range(20):
            yield b"x" * 65536

    r = client.post("/v1/actions/send", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_openapi_documents_every_action_body(client):
    doc = client.get("/openapi.json").json()
    for action in ("up", "down", "send", "run", "verify", "review", "land", "cancel", "approve"):
        post = doc["paths"][f"/v1/actions/{action}"]["post"]
        assert "requestBody" in post, action
    assert "SendBody" in doc["components"]["schemas"]
    assert "/v1/events/stream" in doc["paths"]


def test_dashboard_served_only_when_configured(git_repo, tmp_path):
    ws = load(write_workspace(git_repo))
    with serving([ws], dashboard=True) as url:
        page = httpx.get(url + "/")
        assert page.status_code == 200 and "data-testid=\"floor\"" in page.text
        assert httpx.get(url + "/static/app.js").status_code == 200
        assert httpx.get(url + "/static/..%2Fapp.py").status_code == 404
    with serving([ws], dashboard=False) as url:
        off = httpx.get(url + "/")
        assert off.status_code == 404
        assert "[observe] dashboard = true" in off.json()["error"]["message"]


def test_edited_tutti_toml_applies_without_restart(client, workspace):
    import os

    path = workspace.config_path
    path.write_text(path.read_text() + '\n[[agent]]\nname = "newcomer"\nruntime = "fake"\n')
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000))
    assert "newcomer" in [r["agent"] for r in client.get("/v1/agents").json()["data"]]
    path.write_text("[workspace\nbroken")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 20_000_000))
    assert "newcomer" in [r["agent"] for r in client.get("/v1/agents").json()["data"]]  # last good config
    (event,) = workspace.store.read_events(0, kinds=["serve.config_invalid"])
    assert "tutti.toml" in event.data["error"]
