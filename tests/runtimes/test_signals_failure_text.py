"""Failure text and Claude's transcript as signals: the cases the capture sweep found."""

from __future__ import annotations

import json

import pytest

from tutti.runtimes.base import AgentState
from tutti.runtimes.signals.claude_transcript import latest_api_error
from tutti.runtimes.signals.failure import classify_error_text


@pytest.mark.parametrize(("text", "state"), [
    ("prompt is too long: 215430 tokens > 200000 maximum", AgentState.WAITING),
    ("Codex ran out of room in the model's context window. Start a new thread.", AgentState.WAITING),
    ("The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).", AgentState.WAITING),
    ("Your credit balance is too low to access the Anthropic API.", AgentState.RATE_LIMITED),
    ("You exceeded your current quota, please check your plan and billing details.", AgentState.RATE_LIMITED),
    ("stream disconnected before completion: stream closed before response.completed", AgentState.PROVIDER_DOWN),
    ("Failed to parse JSON", AgentState.PROVIDER_DOWN),
    ("authentication_failed", AgentState.AUTH_FAILED),
    ("Overloaded", AgentState.PROVIDER_DOWN),
])
def test_error_text_names_the_state(text, state):
    assert classify_error_text(text)[0] is state


def _line(kind: str, **extra) -> str:
    return json.dumps({"type": kind, **extra}, separators=(",", ":"))


def _prompt(text: str) -> str:
    return _line("user", message={"role": "user", "content": text})


def _api_error(status: int | None, error: str, text: str) -> str:
    return _line("assistant", isApiErrorMessage=True, apiErrorStatus=status, error=error,
                 message={"role": "assistant", "content": [{"type": "text", "text": text}]})


def _answer(text: str) -> str:
    return _line("assistant", message={"role": "assistant", "content": [{"type": "text", "text": text}]})


def test_transcript_error_of_the_latest_turn_is_the_state(tmp_path):
    log = tmp_path / "s.jsonl"
    log.write_text("\n".join([_prompt("Say OK"), _answer("OK"), _prompt("Summarise"),
                              _api_error(401, "authentication_failed", "Not logged in · Please run /login")]) + "\n")
    det = latest_api_error(log).to_detection()
    assert det.state is AgentState.AUTH_FAILED and det.source == "transcript"
    assert det.evidence == ["transcript:api_error:401"] and "Not logged in" in det.detail


def test_transcript_error_is_history_once_a_new_prompt_or_answer_follows(tmp_path):
    log = tmp_path / "s.jsonl"
    lines = [_prompt("a"), _api_error(529, "server_error", "API Error: Overloaded"), _prompt("b")]
    log.write_text("\n".join(lines) + "\n")
    assert latest_api_error(log) is None
    log.write_text("\n".join([*lines, _answer("fine now")]) + "\n")
    assert latest_api_error(log) is None


def test_transcript_error_without_a_known_cause_is_the_provider(tmp_path):
    log = tmp_path / "s.jsonl"
    log.write_text("\n".join([_prompt("a"), _api_error(None, "unknown", "API Error: Failed to parse JSON")]) + "\n")
    assert latest_api_error(log).to_detection().state is AgentState.PROVIDER_DOWN
