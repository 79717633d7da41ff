"""Port of the original's `src/cli/issue_claim.rs` tests (stored version @ a5ba1d3; semantics of
the snapshot per inventory §7.3) through `tt issue-claim` against the scripted GitHub forge."""

from __future__ import annotations

import json
from datetime import timedelta

from tutti.intake.issue_claim import CLAIM_LABEL, MARKER_START, ClaimRecord, decode, encode

ENV = {"GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "run-123"}


def seed(forge, n: int = 1) -> None:
    forge.create_repo("acme/app")
    for i in range(1, n + 1):
        forge.create_issue("acme/app", f"Issue {i}", labels=["agent-ops"], body=f"Do thing {i}")


def claim_of(forge, state_file) -> ClaimRecord:
    cid = json.loads(state_file.read_text())["claim_comment_id"]
    return decode(forge.github.repo("acme/app")["comments"][str(cid)]["body"])


def age(forge, state_file, secs: int) -> None:
    """The claim's last heartbeat `secs` ago (its runner stopped)."""
    from tutti.forge.github import GitHub

    cid = json.loads(state_file.read_text())["claim_comment_id"]
    record = claim_of(forge, state_file)
    record.last_heartbeat_at -= timedelta(seconds=secs)
    GitHub("acme/app").update_comment(cid, encode(record))


def test_claim_comment_round_trips(forge, tmp_path, tt):
    """upstream: src/cli/issue_claim.rs::tests::claim_comment_round_trips — the lease lives in the
    issue comment (`<!-- tutti-issue-claim {json} -->`); a heartbeat adds a Renewed event."""
    seed(forge)
    assert tt("issue-claim", "acquire", "--lease-ttl-secs", "600", "--output", "s.json", cwd=tmp_path,
              env=ENV).returncode == 0
    assert tt("issue-claim", "heartbeat", "--state", "s.json", cwd=tmp_path, env=ENV).returncode == 0
    claim = claim_of(forge, tmp_path / "s.json")
    assert (claim.run_id, claim.lease_ttl_secs, claim.status) == ("run-123", 600, "active")
    assert [e["kind"] for e in claim.events] == ["Acquired", "Renewed"]


def test_active_claim_expires_after_ttl(forge, tmp_path, tt):
    """upstream: src/cli/issue_claim.rs::tests::active_claim_expires_after_ttl — a claim that missed
    its heartbeats for less than the TTL still holds the issue; past the TTL the issue is reused.
    (The stored test puts the boundary at exactly `ttl` seconds; the snapshot expires a claim when
    `now > last_heartbeat + ttl`, which ours follows.)"""
    seed(forge)
    assert tt("issue-claim", "acquire", "--lease-ttl-secs", "300", "--output", "a.json", cwd=tmp_path,
              env=ENV).returncode == 0
    age(forge, tmp_path / "a.json", 290)
    busy = tt("issue-claim", "acquire", "--output", "b.json", cwd=tmp_path, env={**ENV, "GITHUB_RUN_ID": "run-2"})
    assert busy.returncode != 0 and "no unclaimed open issues" in busy.stderr
    age(forge, tmp_path / "a.json", 20)
    taken = tt("issue-claim", "acquire", "--output", "b.json", cwd=tmp_path, env={**ENV, "GITHUB_RUN_ID": "run-2"})
    assert taken.returncode == 0, taken.stderr
    assert json.loads((tmp_path / "b.json").read_text())["issue_number"] == 1


def test_winner_is_the_lowest_comment_id(forge, tmp_path, tt):
    """upstream: src/cli/issue_claim.rs::tests::winner_prefers_oldest_claim_then_lowest_comment_id,
    src/cli/issue_claim.rs (@ 20f0089)::tests::test_winner_active_claim_picks_earliest —
    with two active claims on an issue the lowest comment id wins (the snapshot dropped the
    stored version's claimed_at ordering: server order is immune to clock skew); the loser marks
    its own claim Released (`lost claim race`) and takes the next issue."""
    from tutti.forge.github import GitHub

    seed(forge, 2)
    GitHub("acme/app").comment(1, encode(ClaimRecord.new("earlier-run", 1800)))  # lowest id on #1
    res = tt("issue-claim", "acquire", "--output", "s.json", cwd=tmp_path, env=ENV)
    assert res.returncode == 0, res.stderr
    assert json.loads((tmp_path / "s.json").read_text())["issue_number"] == 2
    ours_on_1 = [decode(c["body"]) for c in forge.github.repo("acme/app")["comments"].values()
                 if c["issue"] == 1 and MARKER_START in c["body"] and decode(c["body"]).run_id == "run-123"]
    assert [(r.status, r.release_reason) for r in ours_on_1] == [("released", "lost claim race")]


def test_release_marks_claim_inactive(forge, tmp_path, tt):
    """upstream: src/cli/issue_claim.rs::tests::release_marks_claim_inactive"""
    seed(forge)
    assert tt("issue-claim", "acquire", "--output", "s.json", cwd=tmp_path, env=ENV).returncode == 0
    assert tt("issue-claim", "release", "--state", "s.json", "--reason", "failed", cwd=tmp_path, env=ENV).returncode == 0
    claim = claim_of(forge, tmp_path / "s.json")
    assert (claim.status, claim.release_reason) == ("released", "failed")
    assert CLAIM_LABEL not in forge.github.repo("acme/app")["issues"]["1"]["labels"]
    again = tt("issue-claim", "heartbeat", "--state", "s.json", cwd=tmp_path, env=ENV)
    assert again.returncode != 0 and "no longer active" in again.stderr


def test_claim_record_new_expiry_and_comment_format():
    """upstream (issue_claim.rs @ 20f0089): test_claim_record_new, test_claim_record_expiry,
    test_claim_record_not_expired, test_encode_decode_roundtrip, test_decode_no_marker,
    test_push_event_caps_at_max — the lease record and its comment encoding (the contract with
    GitHub that other runs of the original parse)."""
    from tutti.intake.issue_claim import MAX_EVENTS

    record = ClaimRecord.new("run-123", 1800)
    assert (record.run_id, record.lease_ttl_secs, record.status, record.released_at) == ("run-123", 1800, "active", None)
    assert [e["kind"] for e in record.events] == ["Acquired"]
    assert not ClaimRecord.new("run-789", 3600).is_expired()
    stale = ClaimRecord.new("run-456", 0)
    stale.last_heartbeat_at -= timedelta(seconds=1)
    assert stale.is_expired()
    decoded = decode(encode(ClaimRecord.new("run-abc", 1800)))
    assert (decoded.run_id, decoded.lease_ttl_secs, decoded.status) == ("run-abc", 1800, "active")
    assert decode("just a regular comment") is None
    for i in range(25):
        record.push_event("Renewed", f"tick {i}")
    assert len(record.events) == MAX_EVENTS == 20


def test_winner_skips_released_and_expired_claims(forge, tmp_path, tt):
    """upstream (issue_claim.rs @ 20f0089): test_winner_skips_released, test_winner_skips_expired,
    test_winner_active_claim_empty, test_selected_issue_output_serializes — a released or expired
    claim with a lower comment id does not beat ours; the selected-issue file carries the lease."""
    from tutti.forge.github import GitHub

    seed(forge, 2)
    released = ClaimRecord.new("run-released", 3600)
    released.release("done")
    expired = ClaimRecord.new("run-expired", 0)
    expired.last_heartbeat_at -= timedelta(seconds=10)
    GitHub("acme/app").comment(1, encode(released))
    GitHub("acme/app").comment(2, encode(expired))
    for out in ("a.json", "b.json"):
        res = tt("issue-claim", "acquire", "--output", out, cwd=tmp_path, env=ENV)
        assert res.returncode == 0, res.stderr
    got = [json.loads((tmp_path / f).read_text()) for f in ("a.json", "b.json")]
    assert sorted(s["issue_number"] for s in got) == [1, 2]
    assert all({"claim_comment_id", "run_id", "lease_ttl_secs", "claim_status"} <= set(s) for s in got)
