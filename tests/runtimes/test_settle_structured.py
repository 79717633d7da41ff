"""A structured "turn ended" signal ends a settle wait at once; screens keep the stability window."""

from __future__ import annotations

from tutti.runtimes.base import AgentState, Detection
from tutti.runtimes.settle import _Progress


def _det(state: AgentState, source: str = "screen") -> Detection:
    return Detection(state=state, confidence=0.9, evidence=[f"{source}:{state.value}"], source=source)


def _progress() -> _Progress:
    return _Progress(started=0.0, idle_stable_secs=3.0, startup_grace_secs=10.0, base_body="")


def test_state_file_idle_after_state_file_busy_completes_without_the_window():
    p = _progress()
    assert p.judge(_det(AgentState.WORKING, "state_file"), "working", 1.0) is None
    done = p.judge(_det(AgentState.IDLE, "state_file"), "answer", 1.1)
    assert done is not None and done.outcome == "completed" and done.source == "runtime_signal"


def test_rollout_task_complete_counts_as_structured_too():
    p = _progress()
    p.judge(_det(AgentState.WORKING, "rollout"), "working", 1.0)
    assert p.judge(_det(AgentState.IDLE, "rollout"), "answer", 1.05).outcome == "completed"


def test_a_structured_idle_before_any_structured_busy_still_needs_the_window():
    """It may be the previous turn's idle: the prompt has not been picked up yet."""
    p = _progress()
    p.judge(_det(AgentState.WORKING), "spinner", 1.0)  # the screen says working, the file not yet
    assert p.judge(_det(AgentState.IDLE, "state_file"), "answer", 1.1) is None
    assert p.judge(_det(AgentState.IDLE, "state_file"), "answer", 4.2).outcome == "completed"


def test_screen_only_idle_waits_for_the_stability_window():
    p = _progress()
    p.judge(_det(AgentState.WORKING), "spinner", 1.0)
    assert p.judge(_det(AgentState.IDLE), "answer", 1.1) is None
    assert p.judge(_det(AgentState.IDLE), "answer", 3.0) is None
    assert p.judge(_det(AgentState.IDLE), "answer", 4.2).outcome == "completed"


def test_failures_still_end_the_wait_first():
    p = _progress()
    p.judge(_det(AgentState.WORKING, "state_file"), "working", 1.0)
    assert p.judge(_det(AgentState.AUTH_FAILED), "401", 1.1).outcome == "auth_failed"
