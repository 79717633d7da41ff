"""ops.send: prompt delivery and waiting for completion, with the fake agent in real tmux."""

from __future__ import annotations

import json

import pytest
from tests.helpers import wait_until

from tutti.errors import AgentNotRunning, ProviderError, SessionError, UsageError
from tutti.ops import agents
from tutti.ops.send import send
from tutti.workspace import load_workspace_at

SCRIPT = """
work_secs = 0.8
reply = "Done."

[[rule]]
match = "capital of France"
reply = "The capital of France is Paris."

[[rule]]
match = "log me in"
fail = "auth"

[[rule]]
match = "touch secret"
fail = "dialog"
reply = "Wrote it."

[[rule]]
match = "take your time"
work_secs = 30
"""


def records(root, agent="a"):
    path = root / ".records" / f"{agent}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def prompt_of(record: dict) -> str:
    return record.get("prompt", record.get("text"))


@pytest.fixture
def ready(fake_workspace):
    root = fake_workspace([{"name": "a"}], script=SCRIPT)
    ws = load_workspace_at(root)
    agents.up(ws, start_watcher=False)
    wait_until(lambda: agents.status(ws)[0].state == "idle")
    return ws


def test_send_wait_output_returns_the_answer_after_the_agent_goes_idle(ready):
    res = send(ready, "a", "What is the capital of France?", wait=True, output=True, idle_stable_secs=1)
    assert res.waited and res.completion_source == "runtime_signal" and res.state == "idle"
    assert "The capital of France is Paris." in res.captured_output
    assert [prompt_of(r) for r in records(ready.root)] == ["What is the capital of France?"]


def test_a_900_line_prompt_arrives_intact(ready):
    text = "\n".join(f"{i:03d}: " + "the quick brown fox jumps over the lazy dog " * 2 for i in range(900))
    send(ready, "a", text, wait=True, idle_stable_secs=0.5, timeout_secs=120)
    got = records(ready.root)
    assert len(got) == 1 and prompt_of(got[0]) == text


def test_wait_ends_with_the_auth_failure(ready):
    with pytest.raises(ProviderError, match="auth_failed"):
        send(ready, "a", "please log me in", wait=True, idle_stable_secs=1, timeout_secs=60)


def test_wait_times_out_while_the_agent_works(ready):
    with pytest.raises(SessionError, match="idle_timeout"):
        send(ready, "a", "take your time", wait=True, timeout_secs=2, idle_stable_secs=1)


def test_a_waiting_agent_is_not_typed_into_unless_answering(ready):
    with pytest.raises(SessionError, match="waiting") as exc:
        send(ready, "a", "touch secret.txt", wait=True, idle_stable_secs=1, timeout_secs=60)
    assert exc.value.code == "agent_waiting"
    with pytest.raises(SessionError, match="waiting for input"):
        send(ready, "a", "something else")
    res = send(ready, "a", "1", answer=True, wait=True, idle_stable_secs=1, timeout_secs=60, output=True)
    assert res.state == "idle" and "Wrote it." in res.captured_output
    assert [prompt_of(r) for r in records(ready.root)] == ["touch secret.txt"]


def test_send_to_a_stopped_agent_needs_auto_up(fake_workspace):
    ws = load_workspace_at(fake_workspace([{"name": "a"}], script=SCRIPT))
    with pytest.raises(AgentNotRunning):
        send(ws, "a", "hello")


def test_auto_up_waits_until_really_ready_then_delivers_once(fake_workspace):
    root = fake_workspace([{"name": "a"}], script=SCRIPT)
    ws = load_workspace_at(root)
    res = send(ws, "a", "What is the capital of France?", auto_up=True, wait=True, output=True, idle_stable_secs=1)
    assert res.auto_started and "Paris" in res.captured_output
    assert [prompt_of(r) for r in records(root)] == ["What is the capital of France?"]


def test_empty_prompt_is_a_usage_error(ready):
    with pytest.raises(UsageError, match="prompt cannot be empty"):
        send(ready, "a", "   ")
