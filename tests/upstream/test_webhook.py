"""Port of the original's `src/webhook.rs` tests (@ e0f40ce) over HTTP: a real `tt serve` app on
127.0.0.1 receives `POST /v1/webhooks/generic` with the original's body shape `{source, event,
payload}`; `[[webhook]]` rules match on the body's source and event."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from tests.serve.live import load, serving, write_workspace

from .conftest import jsonl

RULES = """
[[workflow]]
name = "{name}"
[[workflow.step]]
type = "command"
run = "touch fired-{name}"
"""


def hooks_ws(git_repo, rules: list[tuple[str, list[str], str]]):
    extra = "".join(RULES.format(name=wf) for _, _, wf in rules)
    for source, events, wf in rules:
        extra += f'\n[[webhook]]\nsource = "{source}"\nevents = {json.dumps(events)}\nworkflow = "{wf}"\n'
    return load(write_workspace(git_repo, extra=extra))


def post(url, source: str, event: str, payload=None):
    r = httpx.post(url + "/v1/webhooks/generic", json={"source": source, "event": event, "payload": payload or {}},
                   timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def fired(root, names: list[str], *, wait: bool) -> set[str]:
    deadline = time.monotonic() + (30 if wait else 0)
    while True:
        got = {n for n in names if (root / f"fired-{n}").exists()}
        if not wait or got or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


CASES = [
    # (original test, rules, posted source, posted event, workflows expected to fire)
    ("match_by_source_and_event",
     [("github", ["issues.labeled", "push"], "sdlc"), ("slack", ["message"], "deploy"), ("generic", ["*"], "catchall")],
     "github", "push", {"sdlc"}),
    ("wildcard_source_matches_all", [("*", ["push"], "anypush")], "github", "push", {"anypush"}),
    ("wildcard_event_matches_all", [("generic", ["*"], "catchall")], "generic", "anything", {"catchall"}),
    ("empty_events_matches_all", [("generic", [], "nofilter")], "generic", "whatever", {"nofilter"}),
    ("no_match_returns_empty", [("github", ["push"], "ci")], "slack", "message", set()),
]


@pytest.mark.parametrize(("original", "rules", "source", "event", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rule_matching(git_repo, original, rules, source, event, expected):
    """upstream: src/webhook.rs::tests::{match_by_source_and_event, wildcard_source_matches_all,
    wildcard_event_matches_all, empty_events_matches_all, no_match_returns_empty} (the parameter id
    names each) — matched rules dispatch their workflow; the response says whether any matched."""
    ws = hooks_ws(git_repo, rules)
    names = [wf for _, _, wf in rules]
    with serving([ws]) as url:
        data = post(url, source, event)
        assert data["matched"] is bool(expected)
        assert data["triggers_fired"] == len(expected)
        got = fired(ws.root, names, wait=bool(expected))
        if expected:
            deadline = time.monotonic() + 30
            while got != expected and time.monotonic() < deadline:
                time.sleep(0.05)
                got = fired(ws.root, names, wait=False)
        assert got == expected


def test_log_event_creates_file(git_repo):
    """upstream: src/webhook.rs::tests::log_event_creates_file — each delivery is a line of
    `.tutti/state/webhook-events.jsonl` in the original's shape (inventory §3): `matched_rule` and
    outcome `dispatched_workflow` / `dispatched_send` per dispatched rule, or `no_match` — fixed
    here: ours wrote one line per delivery with outcome `dispatched` and no `matched_rule`."""
    ws = hooks_ws(git_repo, [("generic", ["test.event"], "rule1")])
    with serving([ws]) as url:
        post(url, "generic", "test.event")
        post(url, "generic", "other.event")
    lines = jsonl(ws.root / ".tutti" / "state" / "webhook-events.jsonl")
    assert [(r["source"], r["event"], r["matched_rule"], r["outcome"]) for r in lines] == [
        ("generic", "test.event", "rule1", "dispatched_workflow"), ("generic", "other.event", None, "no_match")]


def test_expand_template():
    """upstream: src/webhook.rs::tests::expand_template_simple, expand_template_nested,
    expand_template_missing_key, expand_template_no_placeholders — the same substitutions; ours
    fences each payload value as untrusted data (deliberate, inventory §12.9: the original pasted
    raw payload text into an agent's prompt)."""
    from tutti.serve.webhooks import UNTRUSTED_CLOSE, UNTRUSTED_OPEN, expand_prompt

    def plain(text: str) -> str:
        body = text.split("\n\n", 1)[1] if UNTRUSTED_OPEN in text else text
        return body.replace(UNTRUSTED_OPEN, "").replace(UNTRUSTED_CLOSE, "")

    assert plain(expand_prompt("Issue #{{event.number}} was {{event.action}}",
                               {"action": "labeled", "number": 42})) == "Issue #42 was labeled"
    assert plain(expand_prompt("Fix {{event.issue.title}} (#{{event.issue.number}})",
                               {"issue": {"number": 7, "title": "Fix bug"}})) == "Fix Fix bug (#7)"
    assert plain(expand_prompt("{{event.missing}} happened", {"action": "opened"})) == " happened"
    assert expand_prompt("plain text", {}) == "plain text"


def test_delivery_id_dedup_and_replay(git_repo):
    """upstream: src/webhook.rs (@ 6034453)::tests::delivery_id_prefers_header,
    delivery_id_falls_back_to_hash, replay_detection_round_trip — a repeated X-GitHub-Delivery (or
    Idempotency-Key) is a replay: answered from the first response, nothing dispatched again; a new
    id is a new delivery. Deliberate difference (inventory §4.5/§12.7): without any id the original
    deduplicated identical bodies by a hash *forever*, silently dropping a second identical event
    (two "deploy" notifications); ours treats id-less deliveries as distinct."""
    ws = hooks_ws(git_repo, [("generic", ["deploy"], "ship")])
    marker = ws.root / "fired-ship"
    body = {"source": "generic", "event": "deploy", "payload": {}}
    with serving([ws]) as url:
        first = httpx.post(url + "/v1/webhooks/generic", json=body, headers={"X-GitHub-Delivery": "delivery-1"}, timeout=30)
        again = httpx.post(url + "/v1/webhooks/generic", json=body, headers={"X-GitHub-Delivery": "delivery-1"}, timeout=30)
        assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
        other = httpx.post(url + "/v1/webhooks/generic", json=body, headers={"X-GitHub-Delivery": "delivery-2"}, timeout=30)
        assert "Idempotent-Replayed" not in other.headers and other.json()["data"]["matched"] is True
        plain = [httpx.post(url + "/v1/webhooks/generic", json=body, timeout=30) for _ in range(2)]
        assert all("Idempotent-Replayed" not in r.headers for r in plain)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(ws.store.query("SELECT run_id FROM runs WHERE origin = 'webhook'")) < 4:
        time.sleep(0.05)
    assert len(ws.store.query("SELECT run_id FROM runs WHERE origin = 'webhook'")) == 4  # 1 + 1 + 2, no replay ran
    assert marker.exists()
