"""The real agent CLIs, end to end, offline: Claude Code, Codex, Gemini CLI and Aider in tmux
under `tt`, talking to the scripted model server on 127.0.0.1.

For each runtime: `tt up` reaches idle with no first-run dialog; `tt send --wait --output`
delivers the prompt, sees the turn through and returns the answer; the file the model wrote
is in the agent's worktree and `tt land` brings it to main; `tt usage` shows the tokens the
server reported; a 401 / 429 from the server turns the agent auth_failed / rate_limited; a
permission dialog shows as `waiting`.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from .conftest import HELLO
from .conftest import script_for as _script
from .conftest import up_to_idle as _up

pytestmark = [pytest.mark.real_runtime, pytest.mark.slow]

RUNTIMES = ["claude-code", "codex", "gemini-cli", "aider"]


def sliced(default: str) -> list:
    """Every runtime, with all but `default` marked `extended`: the default suite drives each CLI
    once across this file's four tests (each runtime in a different scenario), and
    `python3 -m pytest -m real_runtime` (or `-m extended`) runs the whole 4 × 4 grid."""
    return [rt if rt == default else pytest.param(rt, marks=pytest.mark.extended) for rt in RUNTIMES]


@pytest.mark.parametrize("runtime", sliced("claude-code"))
def test_turn_lands_and_usage_is_counted(real_workspace, runtime):
    ws = real_workspace(runtime, _script(runtime))
    ws.record("up_to_idle", _up(ws, "--mode", "unattended", "--policy", "bypass"))

    start = time.monotonic()
    r = ws.ok("send", "agent", "--wait", "--output", "--json", "--idle-stable-secs", "2", "--timeout-secs", "120",
              "Create hello.txt with a greeting, then say DONE", timeout=180)
    sent = json.loads(r.stdout)
    ws.record("prompt_to_idle", time.monotonic() - start, via=sent["delivery"]["via"])
    assert sent["delivery"]["acknowledged"] and sent["delivery"]["extra_enters"] == 0, sent
    assert sent["state"] == "idle" and not sent["warnings"], sent
    assert "DONE" in sent["captured_output"] or "hello.txt" in sent["captured_output"], sent
    assert (ws.worktree / "hello.txt").read_text() == HELLO

    ws.ok("land", "agent")
    assert (ws.root / "hello.txt").read_text() == HELLO
    log = subprocess.run(["git", "log", "--oneline", "main"], cwd=ws.root, capture_output=True, text=True,
                         check=True).stdout
    assert len(log.splitlines()) >= 2

    usage = json.loads(ws.ok("usage", "--json").stdout)
    row = next(a for a in usage["agents"] if a["agent"] == "agent")
    assert ws.status()["usage"]["total_tokens"] == row["total_tokens"]  # tt status --json
    if runtime == "aider":
        # Aider streams without asking for usage, so it prints its own estimate
        # ("Tokens: 777 sent, 14 received.") — that is what its history records.
        assert row["requests"] >= 1 and row["input_tokens"] > 0 and row["output_tokens"] > 0, row
        return
    served = [r for r in ws.server.log if r.status == 200 and r.turn is not None]
    assert len(served) >= 2
    # The server reported 1200 uncached + 500 cached + 42 out, then 1300 + 0 + 5.
    assert row["input_tokens"] >= 2500 and row["cache_read_tokens"] >= 500 and row["output_tokens"] >= 47, row
    assert row["total_tokens"] >= 3047


@pytest.mark.parametrize("runtime", sliced("codex"))
def test_auth_failure_then_rate_limit_are_detected(real_workspace, runtime):
    ws = real_workspace(runtime, _script(runtime))
    _up(ws, "--mode", "unattended", "--policy", "bypass")

    ws.server.set_mode("auth")
    start = time.monotonic()
    ws.tt("send", "agent", "Say hi", timeout=60)
    ws.wait_state({"auth_failed"}, 120)
    ws.record("detect_auth_failed", time.monotonic() - start)

    ws.server.set_mode("rate_limit", retry_after="1")
    start = time.monotonic()
    ws.tt("send", "agent", "Say hi again", timeout=60)
    ws.wait_state({"rate_limited"}, 150)
    ws.record("detect_rate_limited", time.monotonic() - start)


@pytest.mark.parametrize("runtime", sliced("gemini-cli"))
def test_permission_dialog_shows_as_waiting(real_workspace, runtime):
    script = _script(runtime)
    if runtime == "codex":  # inside its sandbox Codex asks only for escalated commands
        script["turns"][0]["tool_calls"][0]["arguments"].update(
            sandbox_permissions="require_escalated", justification="write hello.txt")
    ws = real_workspace(runtime, script)
    _up(ws, "--mode", "safe")
    start = time.monotonic()
    ws.tt("send", "agent", "Create hello.txt with a greeting, then say DONE", timeout=60)
    ws.wait_state({"waiting"}, 60)
    ws.record("detect_waiting", time.monotonic() - start)
    r = ws.tt("send", "agent", "this must not answer the dialog", timeout=60)
    assert r.returncode != 0 and "waiting" in r.stderr
    assert not (ws.worktree / "hello.txt").exists()


@pytest.mark.parametrize("runtime", sliced("aider"))
def test_provider_outage_is_provider_down(real_workspace, runtime):
    ws = real_workspace(runtime, _script(runtime))
    _up(ws, "--mode", "unattended", "--policy", "bypass")
    ws.server.set_mode("unavailable")  # 503 on every request
    start = time.monotonic()
    ws.tt("send", "agent", "Say hi", timeout=60)
    ws.wait_state({"provider_down"}, 150)
    ws.record("detect_provider_down", time.monotonic() - start)
