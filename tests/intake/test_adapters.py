"""Intake adapters against the scripted forge (GitHub, Linear, Jira) and the serve webhook
endpoint: each produces the same WorkItem, comments and closes in its own system."""

from __future__ import annotations

import json

import httpx
import pytest

from tutti.intake.base import WorkItem, build_sources
from tutti.intake.claims import claim_next
from tutti.workspace import load_workspace_at

INTAKES = """
[[intake]]
name = "gh"
kind = "github"
repo = "acme/app"
labels = ["agent-ops"]
milestone = "v1"

[[intake]]
name = "lin"
kind = "linear"
team = "ENG"
labels = ["ai"]
api_url = "{url}/linear/graphql"

[[intake]]
name = "jira"
kind = "jira"
project = "PROJ"
labels = ["ai"]
api_url = "{url}/jira"

[[intake]]
name = "hooks"
kind = "webhook"
source = "github"
events = ["issues.opened"]
"""


@pytest.fixture
def ws(git_repo, forge, monkeypatch):
    monkeypatch.setenv("LINEAR_API_KEY", "lin_api_key")
    monkeypatch.setenv("JIRA_API_TOKEN", "jira-token")
    monkeypatch.setenv("JIRA_EMAIL", "bot@acme.invalid")
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "demo"\n' + INTAKES.format(url=forge.url))
    return load_workspace_at(git_repo)


def test_github_issues_filter_by_labels_and_milestone_and_close_with_comment(ws, forge):
    forge.create_repo("acme/app")
    from tutti.forge.github import GitHub

    gh = GitHub("acme/app")
    gh.http.request("POST", "/repos/acme/app/milestones", json={"title": "v1"})
    forge.create_issue("acme/app", "in scope", labels=["agent-ops"], milestone="v1", body="please")
    forge.create_issue("acme/app", "other milestone", labels=["agent-ops"])
    forge.create_issue("acme/app", "no label", milestone="v1")
    (source,) = build_sources(ws, ["gh"])
    items = source.list_open()
    assert [i.title for i in items] == ["in scope"]
    item = items[0]
    assert (item.key, item.source, item.id, item.body, item.labels, item.author, item.intake) == (
        "github:acme/app#1", "github", "1", "please", ("agent-ops",), "octo", "gh")
    assert item.url == f"{forge.url}/acme/app/issues/1" and item.created_at
    claim = claim_next(ws.store, [source], "lane-1")
    assert claim.item.key == item.key and "automation-claimed" in forge.github.repo("acme/app")["issues"]["1"]["labels"]
    source.close(item, comment="Merged in abc123")
    issue = forge.github.repo("acme/app")["issues"]["1"]
    assert issue["state"] == "closed"
    assert [c["body"] for c in forge.github.repo("acme/app")["comments"].values()] == ["Merged in abc123"]
    claim.release(ws.store)
    assert "automation-claimed" not in issue["labels"] and source.list_open() == []


def test_linear_issues_open_states_labels_comment_and_done(ws, forge):
    forge.linear.add_issue("ENG", "first", description="desc", labels=["ai"])
    forge.linear.add_issue("ENG", "unlabelled")
    forge.linear.add_issue("ENG", "started", labels=["ai"], state="In Progress")
    forge.linear.add_issue("OPS", "other team", labels=["ai"])
    (source,) = build_sources(ws, ["lin"])
    items = source.list_open()
    assert [(i.key, i.title, i.body, i.labels) for i in items] == [("linear:ENG#ENG-1", "first", "desc", ("ai",))]
    assert source.get("ENG-1").title == "first"
    source.close(items[0], comment="done in #7")
    assert forge.linear.data["issues"]["lin_eng_1"]["state"] == "Done"
    assert forge.linear.data["comments"][0]["body"] == "done in #7"
    assert source.list_open() == []
    assert any(r["path"] == "/linear/graphql" for r in forge.requests())


def test_jira_issues_search_transition_and_comment(ws, forge):
    forge.jira.add_issue("PROJ", "first", description="line one", labels=["ai"])
    forge.jira.add_issue("PROJ", "no label")
    forge.jira.add_issue("PROJ", "finished", labels=["ai"], status="Done")
    (source,) = build_sources(ws, ["jira"])
    assert source.jql() == 'project = "PROJ" AND statusCategory != Done AND labels = "ai" ORDER BY created ASC'
    items = source.list_open()
    assert [(i.key, i.title, i.body, i.author) for i in items] == [("jira:PROJ#PROJ-1", "first", "line one", "jira-user")]
    assert items[0].url == f"{forge.url}/jira/browse/PROJ-1"
    source.close(items[0], comment="merged")
    issue = forge.jira.data["issues"]["PROJ-1"]
    assert issue["status"] == "Done" and issue["comments"][0]["body"]["content"][0]["content"][0]["text"] == "merged"
    assert source.list_open() == []


def test_tracker_outage_is_ridden_out(ws, forge):
    forge.jira.add_issue("PROJ", "first", labels=["ai"])
    forge.fail("5xx", times=2, path="/jira/")
    forge.fail("429", times=1, retry_after=1, path="/jira/")
    (source,) = build_sources(ws, ["jira"])
    assert [i.id for i in source.list_open()] == ["PROJ-1"]
    assert [r["status"] for r in forge.requests("/jira/")] == [502, 502, 429, 200]


def test_webhook_events_become_work_items_once(ws):
    from tests.serve.live import serving

    payload = {"action": "opened", "issue": {"number": 5, "title": "Crash on start", "body": "stack trace",
                                             "html_url": "https://github.com/acme/app/issues/5",
                                             "user": {"login": "alice"}, "labels": [{"name": "bug"}]}}
    with serving([ws]) as url:
        for _ in range(2):  # a redelivery is the same item
            r = httpx.post(url + "/v1/webhooks/github", content=json.dumps(payload),
                           headers={"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-1", "Content-Type": "application/json"})
            assert r.status_code == 200
        closed = dict(payload, action="closed")
        r = httpx.post(url + "/v1/webhooks/github", content=json.dumps(closed),
                       headers={"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-2", "Content-Type": "application/json"})
        assert r.json()["data"]["intake"] == []  # issues.closed does not match events = ["issues.opened"]
    (source,) = build_sources(ws, ["hooks"])
    items = source.list_open()
    assert len(items) == 1
    item: WorkItem = items[0]
    assert (item.title, item.body, item.author, item.labels, item.url) == (
        "Crash on start", "stack trace", "alice", ("bug",), "https://github.com/acme/app/issues/5")
    assert item.key == "webhook:demo#github:d-1" and item.data["event"] == "issues"
    source.close(item, comment="handled")
    assert source.list_open() == []


def test_intake_table_errors_name_the_key_path(git_repo, tt):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "d"\n[[intake]]\nname = "x"\nkind = "github"\nrepo = "nope"\n')
    r = tt("queue", "list", cwd=git_repo)
    assert r.returncode == 2
    assert "intake[1] repo 'nope' is not owner/name (at intake[1] → repo)" in r.stderr
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "d"\n[[intake]]\nname = "x"\nkind = "jira"\n')
    assert "intake[1] of kind jira needs 'project'" in tt("queue", "list", cwd=git_repo).stderr
    schema = json.loads(tt("schema", cwd=git_repo).stdout)
    assert "intake" in schema["properties"]


def test_signed_webhook_intake_rejects_a_bad_signature(git_repo, monkeypatch):
    import hashlib
    import hmac

    from tests.serve.live import serving

    monkeypatch.setenv("TT_INTAKE_SECRET", "s3cret")
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "demo"\n[[intake]]\nname = "hooks"\nkind = "webhook"\n'
                                         'source = "github"\nsecret_env = "TT_INTAKE_SECRET"\n')
    ws = load_workspace_at(git_repo)
    body = json.dumps({"action": "opened", "issue": {"title": "signed"}}).encode()
    good = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    with serving([ws]) as url:
        for signature, status in (("sha256=" + "0" * 64, 401), (good, 200)):
            r = httpx.post(url + "/v1/webhooks/github", content=body, headers={
                "X-GitHub-Event": "issues", "X-Hub-Signature-256": signature, "Content-Type": "application/json"})
            assert r.status_code == status
    assert [i.title for i in build_sources(ws, ["hooks"])[0].list_open()] == ["signed"]


def test_github_table_errors_name_the_key_path(git_repo, tt):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "d"\n[github]\nrepo = "widgets"\n')
    r = tt("queue", "list", cwd=git_repo)
    assert r.returncode == 2 and "github.repo 'widgets' is not owner/name (at github → repo)" in r.stderr
