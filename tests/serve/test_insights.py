"""GET /v1/usage, /v1/providers, /v1/profiles over a real server: the same figures as the CLI."""

from __future__ import annotations

from tutti.direct.events import RunRecorder
from tutti.direct.messages import Message, ModelResponse, Usage


def _call(ws, run_id: str, inp: int, out: int, cost: float) -> None:
    rec = RunRecorder(ws.store, run_id, agent="planner")
    rec.started({"provider": "openai", "model": "gpt-4o"})
    rec.model_call(1, ModelResponse(Message("assistant", []), "end_turn", Usage(input_tokens=inp, output_tokens=out),
                                    model="gpt-4o", provider="openai", profile="main"), cost, True)


def test_usage_by_model_and_run_over_http(workspace, client):
    _call(workspace, "r1", 1000, 10, 0.5)
    _call(workspace, "r2", 3000, 30, 1.25)
    body = client.get("/v1/usage", params={"by": "run"}).json()
    assert body["ok"] and body["action"] == "usage.list"
    report = body["data"][0]
    assert report["workspace"] == workspace.name and report["by"] == "run"
    assert [g["key"] for g in report["groups"]] == ["r2", "r1"]  # most expensive first
    assert report["total"]["cost_usd"] == 1.75 and report["total"]["input_tokens"] == 4000
    bad = client.get("/v1/usage", params={"by": "colour"})
    assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("--by 'colour'")


def test_providers_and_profiles_over_http(workspace, client):
    _call(workspace, "r1", 10, 1, 0.01)
    workspace.store.append_event("direct.provider_retry", agent="planner",
                                 data={"provider": "openai", "profile": "main", "status": 429, "reason": "slow down"})
    rows = client.get("/v1/providers").json()["data"]
    openai = next(r for r in rows if r["provider"] == "openai")
    assert openai["requests"] == 1 and openai["errors"] == 1 and openai["status"] == "degraded"
    profiles = client.get("/v1/profiles").json()
    assert profiles["ok"] and profiles["data"] == []
