"""working_timeout_secs flags an agent that has looked busy for too long (Gemini on a 429)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared_fixtures import FIXTURES
from tutti.runtimes.base import AgentState
from tutti.runtimes.signals.working_timeout import (
    STUCK_EVENT,
    check_working_timeout,
    flag_stuck,
    working_since,
)

CONFIG = """
[workspace]
name = "wt"

[[agent]]
name = "gem"
runtime = "gemini-cli"
working_timeout_secs = 120

[[agent]]
name = "free"
runtime = "codex"
"""


@pytest.fixture
def ws(git_repo):
    (git_repo / "tutti.toml").write_text(CONFIG)
    from tutti.workspace import load_workspace_at

    return load_workspace_at(git_repo)


def _ts(row) -> datetime:
    return datetime.fromisoformat(row.ts)


def test_working_period_starts_at_the_first_working_event_after_another_state(ws):
    ws.store.append_event("agent.idle", agent="gem")
    first = ws.store.append_event("agent.working", agent="gem")
    ws.store.append_event("agent.working", agent="gem")
    assert working_since(ws, "gem") == first.ts
    ws.store.append_event("agent.idle", agent="gem")
    assert working_since(ws, "gem") is None


def test_agent_working_past_its_timeout_is_stuck_once_per_period(ws):
    start = ws.store.append_event("agent.working", agent="gem")
    assert check_working_timeout(ws, "gem", AgentState.WORKING, now=_ts(start) + timedelta(seconds=119)) is None
    verdict = check_working_timeout(ws, "gem", AgentState.WORKING, now=_ts(start) + timedelta(seconds=400))
    assert verdict is not None and verdict.working_secs == 400.0 and verdict.timeout_secs == 120.0
    assert "working for 400s (working_timeout_secs = 120)" in verdict.message
    assert flag_stuck(ws, verdict) is True
    assert flag_stuck(ws, verdict) is False
    assert [e.kind for e in ws.store.read_events(kinds=[STUCK_EVENT])] == [STUCK_EVENT]


def test_no_timeout_configured_or_not_working_means_never_stuck(ws):
    start = ws.store.append_event("agent.working", agent="free")
    later = _ts(start) + timedelta(hours=5)
    assert check_working_timeout(ws, "free", AgentState.WORKING, now=later) is None
    ws.store.append_event("agent.working", agent="gem")
    assert check_working_timeout(ws, "gem", AgentState.IDLE, now=later) is None


def test_a_new_working_period_can_be_flagged_again(ws):
    s1 = ws.store.append_event("agent.working", agent="gem")
    v1 = check_working_timeout(ws, "gem", AgentState.WORKING, now=_ts(s1) + timedelta(seconds=200))
    assert flag_stuck(ws, v1)
    ws.store.append_event("agent.idle", agent="gem")
    s2 = ws.store.append_event("agent.working", agent="gem")
    v2 = check_working_timeout(ws, "gem", AgentState.WORKING,
                               now=datetime.now(UTC) + timedelta(seconds=300))
    assert v2.working_since == s2.ts and flag_stuck(ws, v2)


def test_classification_of_a_stuck_agent_says_how_long_it_has_been_working(ws):
    from tutti.runtimes.registry import get_adapter
    from tutti.runtimes.signals import with_structured_signals

    # A real Gemini screen that says "Thinking..." while it was really retrying a 429.
    screen = (FIXTURES / "screens/real/gemini_ratelimit_spinner_6min.txt").read_text()
    adapter = with_structured_signals(ws, "gem", get_adapter("gemini-cli"), backend=None)
    adapter._pane_pid_fn = lambda: None  # no tmux here: only the working-timeout is exercised
    ws.store.append_event("agent.working", agent="gem")
    assert adapter.classify(screen).state is AgentState.WORKING
    assert not any(e.startswith("working_timeout") for e in adapter.classify(screen).evidence)
    with ws.store.transaction() as conn:  # the working period began 7 minutes ago
        conn.execute("UPDATE events SET ts = ? WHERE kind = 'agent.working'",
                     ((datetime.now(UTC) - timedelta(minutes=7)).isoformat().replace("+00:00", "Z"),))
    det = adapter.classify(screen)
    assert det.state is AgentState.WORKING
    assert any(e.startswith("working_timeout:4") for e in det.evidence), det.evidence
    assert "working_timeout_secs = 120" in det.detail
    adapter.classify(screen)  # noticed again: still one event for this working period
    stuck = ws.store.read_events(kinds=[STUCK_EVENT])
    assert len(stuck) == 1 and stuck[0].agent == "gem" and stuck[0].data["timeout_secs"] == 120.0
