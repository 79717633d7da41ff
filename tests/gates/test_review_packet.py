"""Review packets and verdict files, against real git repositories and worktrees."""

from __future__ import annotations

import json

import pytest

from tutti.errors import GateError, NotFoundError, RoutingError
from tutti.gates.review import (
    TRUNCATION_MARK,
    Verdict,
    build_packet,
    latest_packet,
    latest_verdict,
    parse_verdict,
    record_verdict,
    verdict_request_path,
)

from .conftest import add_worktree, commit_file, git


def test_packet_has_committed_diff_wip_and_untracked_files(make_ws):
    ws = make_ws()
    wt = add_worktree(ws.root, "impl")
    commit_file(wt, "src/app.py", "print('hi')\n", "feat: app")
    (wt / "README.md").write_text("# demo\nwip line\n")
    (wt / "notes.txt").write_text("untracked\n")
    packet = build_packet(ws, "impl")
    assert packet.has_changes
    assert packet.path.parent == ws.state_dir / "reviews"
    assert packet.path.name.startswith("impl-review-")
    text = packet.path.read_text()
    for section in ("# Review Packet: impl", "Branch: tutti/impl", "## Committed Diff Stat",
                    "## Worktree WIP Diff Stat", "## Untracked Files", "## Committed Diff", "## Worktree WIP Diff"):
        assert section in text
    assert "+print('hi')" in text
    assert "+wip line" in text
    assert "- notes.txt" in text
    assert packet.head == git(ws.root, "rev-parse", "tutti/impl").strip()


def test_packet_without_changes_writes_nothing(make_ws):
    ws = make_ws()
    add_worktree(ws.root, "impl")
    packet = build_packet(ws, "impl")
    assert not packet.has_changes
    assert not packet.path.exists()


def test_committed_diff_is_truncated_at_120000_chars(make_ws):
    ws = make_ws()
    wt = add_worktree(ws.root, "impl")
    commit_file(wt, "big.txt", "".join(f"line {i:06d} of a long file\n" for i in range(8000)), "big")
    text = build_packet(ws, "impl").path.read_text()
    assert TRUNCATION_MARK in text
    committed = text.split("## Committed Diff\n", 1)[1].split("## Worktree WIP Diff", 1)[0]
    assert 120000 <= len(committed) < 121000


def test_packet_for_missing_branch_or_agent_is_an_error(make_ws):
    ws = make_ws()
    with pytest.raises(RoutingError, match="agent branch 'tutti/impl' does not exist"):
        build_packet(ws, "impl")
    with pytest.raises(NotFoundError, match="agent 'ghost' not found"):
        build_packet(ws, "ghost")


def test_verdict_path_is_inside_reviewer_worktree_and_git_ignored(make_ws):
    ws = make_ws()
    wt = add_worktree(ws.root, "impl")
    rwt = add_worktree(ws.root, "reviewer")
    commit_file(wt, "a.py", "x = 1\n", "a")
    path = verdict_request_path(ws, "reviewer", build_packet(ws, "impl"))
    assert path.parent.parent == rwt
    assert path.parent.is_dir()  # created for the reviewer, which only writes the file
    path.write_text("{}")
    assert git(rwt, "status", "--porcelain").strip() == ""


def write(path, data):
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_parse_verdict_accepts_approve_and_request_changes(tmp_path):
    v = parse_verdict(write(tmp_path / "v.json", {"verdict": "approve", "summary": "ok", "findings": []}))
    assert v.approved and v.findings == []
    v = parse_verdict(write(tmp_path / "v.json", {"verdict": "request-changes", "summary": "no", "findings": [
        {"file": "src/a.py", "line": 3, "severity": "high", "message": "off by one"}]}))
    assert not v.approved and v.verdict == "request_changes"
    assert v.findings_text() == "[high] src/a.py:3: off by one"


@pytest.mark.parametrize("data, key", [
    ("not json", "not valid JSON"),
    ([1, 2], "(root): must be a JSON object"),
    ({"verdict": "maybe"}, "verdict: must be 'approve' or 'request_changes'"),
    ({"verdict": "approve", "findings": {}}, "findings: must be a list"),
    ({"verdict": "approve", "findings": [{"file": "a", "line": "x", "message": "m"}]}, "findings[0].line"),
    ({"verdict": "approve", "findings": [{"file": "a", "line": 1}]}, "findings[0].message"),
])
def test_parse_verdict_names_the_file_and_key(tmp_path, data, key):
    path = write(tmp_path / "verdict.json", data)
    with pytest.raises(GateError) as exc:
        parse_verdict(path)
    assert str(path) in exc.value.message and key in exc.value.message


def test_recorded_verdict_is_an_event_and_the_latest_wins(make_ws):
    ws = make_ws()
    record_verdict(ws, Verdict("request_changes", "fix it", agent="impl", reviewer="reviewer"))
    record_verdict(ws, Verdict("approve", "good", agent="impl", reviewer="reviewer", head="abc"))
    latest = latest_verdict(ws, "impl")
    assert latest.approved and latest.head == "abc"
    assert [e.data["verdict"] for e in ws.store.read_events(kinds=["review.verdict"])] == ["request_changes", "approve"]
    assert latest_verdict(ws, "api") is None


def test_latest_packet_does_not_confuse_api_with_api_gateway(make_ws):
    ws = make_ws()
    reviews = ws.state_dir / "reviews"
    reviews.mkdir(parents=True)
    (reviews / "api-gateway-review-20260101-120000.md").write_text("gw")
    assert latest_packet(ws, "api") is None
    (reviews / "api-review-20250101-120000.md").write_text("api")
    assert latest_packet(ws, "api").name == "api-review-20250101-120000.md"


def test_request_review_needs_a_running_reviewer(make_ws, tmux_socket):
    from tutti.errors import AgentNotRunning
    from tutti.ops.review import request_review

    ws = make_ws()
    wt = add_worktree(ws.root, "impl")
    commit_file(wt, "a.py", "x = 1\n", "a")
    with pytest.raises(AgentNotRunning) as exc:
        request_review(ws, "impl", "reviewer")
    assert exc.value.message == "reviewer 'reviewer' is not running" and exc.value.hint == "start it first: tt up reviewer"
    with pytest.raises(NotFoundError, match="reviewer agent 'nobody' not found"):
        request_review(ws, "impl", "nobody")
