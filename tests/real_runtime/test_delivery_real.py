"""Acknowledged delivery against the real CLIs: paste + Enter in one burst (the way Codex is
known to swallow the Enter), then `confirm_turn_started` must see the turn start — pressing
Enter again only if the prompt is still sitting in the input box — and the model must receive
the prompt exactly once."""

from __future__ import annotations

import json
import time

import pytest

from .conftest import script_for, up_to_idle

pytestmark = [pytest.mark.real_runtime, pytest.mark.slow]

PROMPT = "Create hello.txt with a greeting, then say DONE"


def _times_submitted(server) -> int:
    """How often PROMPT was submitted, as the model saw it: the most user messages carrying it
    in any one request (a second submission would appear as a second user message)."""
    most = 0
    for req in server.log:
        body = req.body if isinstance(req.body, dict) else {}
        msgs = body.get("messages") or body.get("input") or body.get("contents") or []
        users = [m for m in msgs if isinstance(m, dict) and m.get("role") == "user" and PROMPT in json.dumps(m)]
        most = max(most, len(users))
    return most


@pytest.mark.parametrize("runtime", ["codex", "claude-code"])
def test_burst_submission_is_acknowledged_and_never_submitted_twice(real_workspace, runtime, monkeypatch):
    from tutti.runtimes.registry import adapter_for
    from tutti.runtimes.signals import sources_for
    from tutti.runtimes.signals.delivery import TurnProbe, confirm_turn_started
    from tutti.sessions.tmux import TmuxBackend
    from tutti.workspace import load_workspace_at

    ws = real_workspace(runtime, script_for(runtime))
    up_to_idle(ws, "--mode", "unattended", "--policy", "bypass")
    monkeypatch.setenv("TUTTI_TMUX_SOCKET", ws.socket)
    monkeypatch.setenv("TUTTI_HOME", ws.env["TUTTI_HOME"])
    workspace = load_workspace_at(ws.root)
    session = workspace.session_name("agent")
    backend = TmuxBackend()
    adapter = adapter_for(workspace, "agent")
    probe = TurnProbe(sources_for(workspace, "agent"), lambda: backend.pane_pid(session))

    backend.send_text(session, PROMPT, submit=False)
    baseline = backend.capture(session)
    backend.send_keys(session, "Enter")  # no pause: the burst Codex may swallow
    start = time.monotonic()
    res = confirm_turn_started(prompt=PROMPT, capture=lambda: backend.capture(session), classify=adapter.classify,
                               press_enter=lambda: backend.send_keys(session, "Enter"), probe=probe,
                               baseline_screen=baseline, timeout_secs=30, retry_after_secs=2.0)
    ws.record("delivery_ack", time.monotonic() - start, via=res.via, extra_enters=res.extra_enters)
    assert res.acknowledged, f"{res}\n{ws.peek()}"
    assert res.extra_enters <= 1

    ws.wait_state({"idle"}, 60)
    assert (ws.worktree / "hello.txt").exists()
    assert _times_submitted(ws.server) == 1
