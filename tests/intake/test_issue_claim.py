"""`tt issue-claim` against the scripted forge, as real processes (inventory §7.3)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tutti.intake.issue_claim import CLAIM_LABEL, MARKER_START, decode


def _seed(forge, n: int, label: str = "agent-ops") -> None:
    forge.create_repo("acme/app")
    for i in range(1, n + 1):
        forge.create_issue("acme/app", f"Issue {i}", labels=[label], body=f"Do thing {i}")


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "GITHUB_REPOSITORY": "acme/app", **extra}


def _claims(forge, number: int) -> list[tuple[int, dict]]:
    comments = forge.github.repo("acme/app")["comments"].values()
    return sorted((c["id"], c) for c in comments if c["issue"] == number and MARKER_START in c["body"])


def test_twenty_processes_race_for_five_issues_exactly_five_win(forge, tmp_path):
    _seed(forge, 5)
    procs = [subprocess.Popen([sys.executable, "-m", "tutti", "issue-claim", "acquire", "--output", str(tmp_path / f"s{i}.json")],
                              cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(20)]
    results = [(p, *p.communicate(timeout=300)) for p in procs]
    winners = [(p, out, err) for p, out, err in results if p.returncode == 0]
    losers = [(p, out, err) for p, out, err in results if p.returncode != 0]
    assert len(winners) == 5 and len(losers) == 15, [err for _, _, err in results]
    for _, out, err in losers:  # a clean refusal: one line, no traceback
        lines = err.strip().splitlines()
        assert len(lines) == 1 and out == "", err
        assert lines[0].startswith(("error[claim]: could not claim any candidate issue for label 'agent-ops'",
                                    "error[claim]: no unclaimed open issues found for label 'agent-ops'")), err
    selected = [json.loads((tmp_path / out.strip()).read_text()) for _, out, _ in winners]
    assert sorted(s["issue_number"] for s in selected) == [1, 2, 3, 4, 5]
    for s in selected:  # each winner holds the lowest active claim comment of its issue
        active = [cid for cid, c in _claims(forge, s["issue_number"]) if decode(c["body"]).status == "active"]
        assert active == [s["claim_comment_id"]]
        assert CLAIM_LABEL in forge.github.repo("acme/app")["issues"][str(s["issue_number"])]["labels"]
    lost = [decode(c["body"]) for n in range(1, 6) for _, c in _claims(forge, n) if decode(c["body"]).status == "released"]
    assert all(r.release_reason == "lost claim race" for r in lost)


def test_acquire_heartbeat_release_round_trip_and_comment_format(forge, tmp_path, tt):
    _seed(forge, 2)
    forge.create_issue("acme/app", "Unlabelled", body="not for agents")
    env = {"GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "4242"}
    res = tt("issue-claim", "acquire", cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ".tutti/state/auto/selected_issue.json"
    state_file = tmp_path / ".tutti/state/auto/selected_issue.json"
    s = json.loads(state_file.read_text())
    assert {k: s[k] for k in ("issue_number", "title", "body", "labels", "author", "run_id", "lease_ttl_secs", "claim_status")} == {
        "issue_number": 1, "title": "Issue 1", "body": "Do thing 1", "labels": ["agent-ops"], "author": "octo",
        "run_id": "4242", "lease_ttl_secs": 1800, "claim_status": "active"}
    assert res.stderr.strip() == f"claimed issue #1 (comment {s['claim_comment_id']}, ttl 1800s, run 4242)"
    body = forge.github.repo("acme/app")["comments"][str(s["claim_comment_id"])]["body"]
    assert body.startswith("<!-- tutti-issue-claim {\"schema_version\":1,\"run_id\":\"4242\"")
    assert "\n\n🔒 **Claim** — run `4242` | status: `Active` | expires: " in body
    time.sleep(1.1)
    assert tt("issue-claim", "heartbeat", cwd=tmp_path, env=env).returncode == 0
    renewed = decode(forge.github.repo("acme/app")["comments"][str(s["claim_comment_id"])]["body"])
    assert [e["kind"] for e in renewed.events] == ["Acquired", "Renewed"]
    assert json.loads(state_file.read_text())["last_heartbeat_at"] > s["last_heartbeat_at"]
    rel = tt("issue-claim", "release", "--reason", "merged", cwd=tmp_path, env=env)
    assert rel.returncode == 0 and "released claim on #1 (reason: merged)" in rel.stderr
    released = decode(forge.github.repo("acme/app")["comments"][str(s["claim_comment_id"])]["body"])
    assert (released.status, released.release_reason) == ("released", "merged")
    assert CLAIM_LABEL not in forge.github.repo("acme/app")["issues"]["1"]["labels"]
    assert json.loads(state_file.read_text())["claim_status"] == "released"
    again = tt("issue-claim", "heartbeat", cwd=tmp_path, env=env)
    assert again.returncode != 0 and again.stderr.strip() == "error[claim]: claim is no longer active — cannot renew"


def _age_claim(forge, state_file, secs: int) -> None:
    """Make a claim look as if its run stopped heartbeating `secs` ago (a crashed runner)."""
    from datetime import timedelta

    from tutti.forge.github import GitHub
    from tutti.intake.issue_claim import encode

    cid = json.loads(state_file.read_text())["claim_comment_id"]
    record = decode(forge.github.repo("acme/app")["comments"][str(cid)]["body"])
    record.last_heartbeat_at -= timedelta(seconds=secs)
    GitHub("acme/app").update_comment(cid, encode(record))


def test_stale_claims_are_swept_and_reused(forge, tmp_path, tt):
    _seed(forge, 1)
    env = {"GITHUB_REPOSITORY": "acme/app"}
    assert tt("issue-claim", "acquire", "--output", "a.json", cwd=tmp_path, env=env).returncode == 0
    busy = tt("issue-claim", "acquire", "--output", "b.json", cwd=tmp_path, env=env)
    assert busy.returncode != 0 and "no unclaimed open issues found for label 'agent-ops'" in busy.stderr
    _age_claim(forge, tmp_path / "a.json", 1801)
    taken = tt("issue-claim", "acquire", "--output", "b.json", cwd=tmp_path, env=env)  # expired: reused
    assert taken.returncode == 0, taken.stderr
    assert "released stale claim on #1" in taken.stderr
    assert json.loads((tmp_path / "b.json").read_text())["issue_number"] == 1
    stale = tt("issue-claim", "heartbeat", "--state", "a.json", cwd=tmp_path, env=env)
    assert stale.returncode != 0 and "claim is no longer active" in stale.stderr
    tt("issue-claim", "release", "--state", "b.json", cwd=tmp_path, env=env)
    assert tt("issue-claim", "acquire", "--output", "c.json", cwd=tmp_path, env=env).returncode == 0
    _age_claim(forge, tmp_path / "c.json", 1801)
    swept = tt("issue-claim", "sweep", cwd=tmp_path, env=env)
    assert swept.returncode == 0
    assert swept.stderr.strip().splitlines()[-1] == "sweep complete: 1 stale claims released, 1 labels removed"
    assert CLAIM_LABEL not in forge.github.repo("acme/app")["issues"]["1"]["labels"]


@pytest.mark.parametrize("in_actions", [False, True])
def test_only_trusted_authors_count_inside_actions(forge, tmp_path, tt, in_actions):
    _seed(forge, 2)
    forge.add_token("bot-token", "github-actions[bot]", "Bot")
    forge.add_token("human-token", "mallory", "User")
    from tutti.forge.github import GitHub
    from tutti.intake.issue_claim import ClaimRecord, encode

    GitHub("acme/app", token="human-token").comment(1, encode(ClaimRecord.new("forged", 1800)))  # lowest id on #1
    env = {"GITHUB_REPOSITORY": "acme/app", "GITHUB_TOKEN": "bot-token"}
    if in_actions:
        env.update(GITHUB_ACTIONS="true", GITHUB_ACTOR="someone", GITHUB_RUN_ID="99")
    res = tt("issue-claim", "acquire", cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    got = json.loads((tmp_path / ".tutti/state/auto/selected_issue.json").read_text())["issue_number"]
    assert got == (1 if in_actions else 2)  # locally any author's claim counts, in Actions only trusted ones


def test_acquire_rides_out_5xx_and_secondary_rate_limit(forge, tmp_path, tt):
    _seed(forge, 1)
    forge.fail("5xx", times=2, path=r"/issues/1/comments$")
    forge.fail("rate_limit", times=1, retry_after=1, path=r"/issues/1/labels$")
    res = tt("issue-claim", "acquire", cwd=tmp_path, env={"GITHUB_REPOSITORY": "acme/app"})
    assert res.returncode == 0, res.stderr
    assert [r["status"] for r in forge.requests(r"/issues/1/labels$")][:2] == [403, 200]
    assert [r["status"] for r in forge.requests(r"/issues/1/comments$")][:3] == [502, 502, 201]
    assert len(_claims(forge, 1)) == 1  # the failed attempts created nothing twice


def test_store_lease_claims_race_through_the_cli(git_repo, tt):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "qws"\n[[intake]]\nname = "todo"\nkind = "queue"\n')
    for i in range(3):
        assert tt("queue", "add", f"item {i}", cwd=git_repo).returncode == 0
    procs = [subprocess.Popen([sys.executable, "-m", "tutti", "issue-claim", "acquire", "--intake", "todo",
                               "--output", f"s{i}.json"], cwd=git_repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(8)]
    results = [(p.wait(timeout=300), p) for p in procs]
    won = [json.loads((git_repo / f"s{i}.json").read_text()) for i, (rc, _) in enumerate(results) if rc == 0]
    assert sorted(w["item_key"] for w in won) == ["queue:qws#1", "queue:qws#2", "queue:qws#3"]
    assert all(w["fencing_token"] == 1 for w in won)
    losers = [p for rc, p in results if rc != 0]
    assert all(p.stderr.read().strip() == "error[claim]: could not claim any candidate item from intake 'todo'"
               for p in losers)
    i = next(i for i, (rc, _) in enumerate(results) if rc == 0)
    released = json.loads((git_repo / f"s{i}.json").read_text())
    assert tt("issue-claim", "heartbeat", "--state", f"s{i}.json", cwd=git_repo).returncode == 0
    assert tt("issue-claim", "release", "--state", f"s{i}.json", cwd=git_repo).returncode == 0
    again = tt("issue-claim", "acquire", "--intake", "todo", "--output", "again.json", cwd=git_repo)
    assert again.returncode == 0, again.stderr
    retaken = json.loads((git_repo / "again.json").read_text())
    assert retaken["item_key"] == released["item_key"]
    assert retaken["fencing_token"] == 2  # the same item again, with a larger token
