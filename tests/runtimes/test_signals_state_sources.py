"""Structured state readers: Claude's state file (through a real process tree), Codex's
rollout log, Gemini's local telemetry — and how they merge with the screen."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared_fixtures import FIXTURES
from tutti import proctree
from tutti.runtimes.base import AgentState, Detection
from tutti.runtimes.signals import merge
from tutti.runtimes.signals.claude_state import find_session_state
from tutti.runtimes.signals.codex_rollout import find_rollout, read_rollout
from tutti.runtimes.signals.gemini_telemetry import failure_detection, read_api_events

DATA = Path(__file__).parent / "signals_data"
ROLLOUT = (FIXTURES / "logs/codex_rollout_sample.jsonl")


# -- Claude Code state file ----------------------------------------------------------------------
@pytest.fixture
def pane():
    """A real process tree like a tmux pane's: a shell whose child plays the runtime."""
    shell = subprocess.Popen(["/bin/sh", "-c", "sleep 60; true"])
    deadline = time.monotonic() + 20
    child = None
    while time.monotonic() < deadline and child is None:
        kids = proctree.descendants(shell.pid)[1:]
        child = kids[0] if kids else None
        time.sleep(0.05)
    assert child is not None, "the shell's child did not appear"
    yield shell.pid, child
    for pid in (child, shell.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    shell.wait()


def _write_state(sessions: Path, pid: int, status: str, proc_start: str | None, **extra) -> None:
    sessions.mkdir(parents=True, exist_ok=True)
    data = {"pid": pid, "sessionId": "s1", "cwd": "/w", "status": status, "statusUpdatedAt": 1000, **extra}
    if proc_start is not None:
        data["procStart"] = proc_start
    (sessions / f"{pid}.json").write_text(json.dumps(data))


def test_claude_state_file_is_found_below_the_pane_shell(tmp_path, pane):
    shell, child = pane
    sessions = tmp_path / "sessions"
    _write_state(sessions, child, "waiting", str(proctree.start_ticks(child)), waitingFor="permission prompt")
    st = find_session_state(sessions, shell)
    assert st is not None and st.pid == child
    det = st.to_detection()
    assert det.state is AgentState.WAITING and det.detail == "permission prompt" and det.source == "state_file"


@pytest.mark.parametrize("status,state", [("busy", AgentState.WORKING), ("idle", AgentState.IDLE)])
def test_claude_busy_and_idle(tmp_path, pane, status, state):
    shell, child = pane
    _write_state(tmp_path / "sessions", child, status, str(proctree.start_ticks(child)))
    assert find_session_state(tmp_path / "sessions", shell).to_detection().state is state


def test_claude_state_file_of_a_reused_pid_is_ignored(tmp_path, pane):
    shell, child = pane
    _write_state(tmp_path / "sessions", child, "busy", str(proctree.start_ticks(child) - 1))
    assert find_session_state(tmp_path / "sessions", shell) is None


def test_claude_state_file_of_another_process_tree_is_ignored(tmp_path, pane):
    shell, _child = pane
    _write_state(tmp_path / "sessions", 1, "busy", str(proctree.start_ticks(1)))
    assert find_session_state(tmp_path / "sessions", shell) is None


# -- Codex rollout ----------------------------------------------------------------------------------
def _rollout(home: Path, workdir: Path, lines: list[str], name: str = "rollout-a.jsonl") -> Path:
    meta = json.loads(lines[0])
    meta["payload"]["cwd"] = str(workdir)
    day = home / "sessions" / "2026" / "11" / "24"
    day.mkdir(parents=True, exist_ok=True)
    path = day / name
    path.write_text("\n".join([json.dumps(meta), *lines[1:]]) + "\n")
    return path


def _event(kind: str, **payload) -> str:
    return json.dumps({"timestamp": "2026-11-24T03:30:00.000Z", "type": "event_msg", "payload": {"type": kind, **payload}})


def test_codex_turn_edges(tmp_path):
    lines = ROLLOUT.read_text().splitlines()
    open_turn = [ln for ln in lines if '"task_complete"' not in ln]
    path = _rollout(tmp_path, tmp_path / "wt", open_turn)
    assert read_rollout(path).to_detection().state is AgentState.WORKING
    path = _rollout(tmp_path, tmp_path / "wt", lines)
    st = read_rollout(path)
    assert st.to_detection().state is AgentState.IDLE and st.last_agent_message == "DONE"


def test_codex_turn_that_ended_in_a_401_is_auth_failed(tmp_path):
    # The real shape Codex 0.169 writes after exhausting its retries on a 401.
    lines = ROLLOUT.read_text().splitlines() + [
        _event("task_started", turn_id="t2"),
        _event("task_complete", turn_id="t2", last_agent_message=None, error={
            "message": "unexpected status 401 Unauthorized: Invalid API key provided, url: http://127.0.0.1:1/v1/responses"}),
    ]
    det = read_rollout(_rollout(tmp_path, tmp_path / "wt", lines)).to_detection()
    assert det.state is AgentState.AUTH_FAILED and "401" in det.detail and det.source == "rollout"


def test_codex_stream_error_while_retrying_a_429_is_rate_limited_and_a_new_turn_clears_it(tmp_path):
    lines = ROLLOUT.read_text().splitlines() + [
        _event("task_started", turn_id="t2"),
        _event("stream_error", message="exceeded retry limit, last status: 429 Too Many Requests"),
    ]
    path = _rollout(tmp_path, tmp_path / "wt", lines)
    assert read_rollout(path).to_detection().state is AgentState.RATE_LIMITED
    path.write_text(path.read_text() + _event("task_started", turn_id="t3") + "\n")
    assert read_rollout(path).to_detection().state is AgentState.WORKING


def test_codex_rollout_is_chosen_by_the_agents_workdir(tmp_path):
    lines = ROLLOUT.read_text().splitlines()
    mine = _rollout(tmp_path, tmp_path / "wt", lines, "rollout-mine.jsonl")
    _rollout(tmp_path, tmp_path / "other", lines, "rollout-other.jsonl")
    assert find_rollout(tmp_path, tmp_path / "wt") == mine
    assert find_rollout(tmp_path, tmp_path / "nowhere") is None


# -- Gemini telemetry -----------------------------------------------------------------------------
def test_gemini_telemetry_429_on_the_users_prompt_is_rate_limited():
    # Real records Gemini CLI 0.61 wrote while its screen showed only "Thinking... (24s)".
    det = failure_detection(DATA / "gemini_telemetry_429.log")
    assert det.state is AgentState.RATE_LIMITED and det.source == "telemetry"
    assert "429" in det.evidence[0]


def test_gemini_later_success_clears_the_failure(tmp_path):
    text = (DATA / "gemini_telemetry_429.log").read_text()
    events = read_api_events(DATA / "gemini_telemetry_429.log")
    ok = {"attributes": {"event.name": "gemini_cli.api_response", "event.timestamp": "2026-11-25T12:30:00Z",
                         "status_code": 200, "prompt_id": events[-1].prompt_id}}
    path = tmp_path / "t.log"
    path.write_text(text + json.dumps(ok, indent=2) + "\n")
    assert failure_detection(path) is None


def test_gemini_background_summary_failures_alone_do_not_fail_the_agent(tmp_path):
    text = (DATA / "gemini_telemetry_429.log").read_text()
    kept = [c for c in ("\n" + text).split("\n{\n")[1:] if "session-summary-generation" in c or 'gemini_cli.api_error' not in c]
    path = tmp_path / "t.log"
    path.write_text("".join("{\n" + c.rstrip() + "\n" for c in kept))
    assert failure_detection(path) is None


def test_gemini_record_being_written_is_skipped(tmp_path):
    text = (DATA / "gemini_telemetry_429.log").read_text()
    path = tmp_path / "t.log"
    path.write_text(text + '{\n  "attributes": {\n    "event.name": "gemini_cli.api_')
    assert failure_detection(path).state is AgentState.RATE_LIMITED


# -- merging with the screen -----------------------------------------------------------------------
def _d(state: AgentState, src: str = "screen", detail: str | None = None) -> Detection:
    return Detection(state, 0.9, [f"{state.value}:{src}"], detail=detail, source=src)


def test_structured_working_beats_a_screen_that_looks_idle():
    merged = merge(_d(AgentState.IDLE), _d(AgentState.WORKING, "state_file"))
    assert merged.state is AgentState.WORKING and merged.source == "state_file"
    assert merged.evidence == ["working:state_file", "idle:screen"]


def test_screen_error_line_beats_structured_busy():
    merged = merge(_d(AgentState.AUTH_FAILED, detail="Invalid API key"), _d(AgentState.WORKING, "state_file"))
    assert merged.state is AgentState.AUTH_FAILED and merged.detail == "Invalid API key"


def test_state_file_waiting_beats_everything_on_screen():
    assert merge(_d(AgentState.RATE_LIMITED), _d(AgentState.WAITING, "state_file")).state is AgentState.WAITING


def test_logged_failure_beats_a_screen_that_still_says_working():
    merged = merge(_d(AgentState.WORKING), _d(AgentState.RATE_LIMITED, "telemetry"))
    assert merged.state is AgentState.RATE_LIMITED and merged.source == "telemetry"


def test_no_structured_signal_leaves_the_screen_alone():
    screen = _d(AgentState.IDLE)
    assert merge(screen, None) is screen


if sys.platform != "linux":  # pragma: no cover
    pytest.skip("process-tree lookup reads /proc", allow_module_level=True)


def test_claude_pid_found_once_is_checked_first_next_time(tmp_path, pane):
    shell, child = pane
    sessions = tmp_path / "sessions"
    _write_state(sessions, child, "busy", str(proctree.start_ticks(child)))
    assert find_session_state(sessions, shell, hint=child).pid == child
    # A stale hint (that process's file says another start time) falls back to the tree walk.
    _write_state(sessions, 1, "idle", "0")
    assert find_session_state(sessions, shell, hint=1).pid == child
