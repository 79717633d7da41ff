"""Claude retrying on its own (`✻ API error · Retrying in 11s · attempt 6/10`) is a failure the
recovery can act on, even while Claude's state file says busy."""

from __future__ import annotations

from pathlib import Path

from tutti.resilience.backoff import retry_after_secs
from tutti.runtimes.base import AgentState, Detection
from tutti.runtimes.registry import get_adapter
from tutti.runtimes.signals import merge

SCREEN = Path(__file__).parents[1] / "runtimes" / "fixtures" / "composed" / "claude_api_retrying.txt"


def test_retry_line_beats_the_busy_state_file_and_carries_its_hint():
    screen = get_adapter("claude-code").classify(SCREEN.read_text(encoding="utf-8"))
    busy = Detection(AgentState.WORKING, 0.95, ["working:claude_state busy"], None, source="structured")
    det = merge(screen, busy)
    assert det.state is AgentState.PROVIDER_DOWN
    assert det.detail == "✻ API error · Retrying in 11s · attempt 6/10"
    assert retry_after_secs(det.detail) == 11


def test_retry_line_naming_a_429_is_a_rate_limit():
    text = SCREEN.read_text(encoding="utf-8").replace("API error ·", "API error (429 rate_limit_error) ·")
    assert get_adapter("claude-code").classify(text).state is AgentState.RATE_LIMITED
