"""One server, several workspaces: addressed by name, no chdir, reads aggregate."""

from __future__ import annotations

import os

import httpx
import pytest

from .live import load, serving, write_workspace


@pytest.fixture
def two(tmp_path):
    one = load(write_workspace(tmp_path / "one", "one"))
    two = load(write_workspace(tmp_path / "two", "two"))
    with serving([one, two]) as url:
        yield url, one, two


def test_actions_require_workspace_when_serving_several(two):
    url, *_ = two
    r = httpx.post(url + "/v1/actions/run", json={"workflow": "check", "dry_run": True})
    assert r.status_code == 400 and r.json()["error"]["message"] == "missing required field 'workspace'"


def test_actions_run_in_the_named_workspace_without_chdir(two):
    url, one, two_ws = two
    cwd = os.getcwd()
    r = httpx.post(url + "/v1/actions/run", json={"workflow": "check", "workspace": "two"})
    assert r.status_code == 200 and r.json()["data"]["workspace"] == "two"
    run_id = r.json()["data"]["run_id"]
    assert two_ws.store.query("SELECT COUNT(*) FROM runs WHERE run_id = ?", (run_id,))[0][0] == 1
    assert one.store.query("SELECT COUNT(*) FROM runs")[0][0] == 0
    assert os.getcwd() == cwd


def test_reads_aggregate_or_filter_by_workspace(two):
    url, *_ = two
    rows = httpx.get(url + "/v1/agents").json()["data"]
    assert sorted({r["workspace"] for r in rows}) == ["one", "two"]
    only = httpx.get(url + "/v1/agents", params={"workspace": "one"}).json()["data"]
    assert {r["workspace"] for r in only} == {"one"}
    assert httpx.get(url + "/v1/agents", params={"workspace": "three"}).status_code == 404


def test_event_pages_need_a_workspace_when_serving_several(two):
    url, one, _ = two
    assert httpx.get(url + "/v1/events").status_code == 400
    one.store.append_event("agent.idle", agent="planner")
    page = httpx.get(url + "/v1/events", params={"workspace": "one", "cursor": 0}).json()["data"]
    assert [e["workspace"] for e in page["events"]] == ["one"]


def test_duplicate_workspace_names_are_refused(tmp_path):
    from tutti.errors import UsageError
    from tutti.serve.app import create_app

    a = load(write_workspace(tmp_path / "a", "same"))
    b = load(write_workspace(tmp_path / "b", "same"))
    with pytest.raises(UsageError, match="both named 'same'"):
        create_app([a, b], token=None, dashboard=False)
