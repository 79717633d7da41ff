"""A runtime stuck waiting on its provider looks busy forever; `working_timeout_secs` is what
tells. Here the scripted server never answers (hang) and Gemini CLI sits on `Thinking...`."""

from __future__ import annotations

import time

import pytest

from .conftest import script_for, up_to_idle

pytestmark = [pytest.mark.real_runtime, pytest.mark.slow, pytest.mark.extended]  # 20 s of waiting out a timeout


def test_agent_working_past_its_timeout_is_flagged_stuck(real_workspace):
    from tutti.workspace import load_workspace_at

    ws = real_workspace("gemini-cli", script_for("gemini-cli"), agent_keys="working_timeout_secs = 5\n")
    up_to_idle(ws, "--mode", "unattended", "--policy", "bypass")
    ws.server.set_mode("hang")
    start = time.monotonic()
    ws.tt("send", "agent", "Say hi", timeout=60)
    deadline = time.monotonic() + 60
    row = ws.status()
    while time.monotonic() < deadline and not any(e.startswith("working_timeout:") for e in row["evidence"]):
        time.sleep(0.5)
        row = ws.status()
    ws.record("detect_stuck", time.monotonic() - start, timeout_secs=5, evidence=row["evidence"][:3])
    assert row["state"] == "working" and any(e.startswith("working_timeout:") for e in row["evidence"]), row
    assert "working_timeout_secs = 5" in row["detail"]
    stuck = load_workspace_at(ws.root).store.read_events(kinds=["agent.stuck"])
    assert len(stuck) == 1 and stuck[0].agent == "agent"
