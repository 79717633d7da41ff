"""wait_for_settle: completion from real activity, never from footer redraws."""

from __future__ import annotations

import sys
import time

from tutti.runtimes.base import AgentState, Detection
from tutti.runtimes.settle import wait_for_settle
from tutti.sessions.tmux import TmuxBackend

# A terminal program with an idle prompt and a footer clock redrawn every 200 ms. With
# ANSWER set it prints an answer when Enter arrives; otherwise it ignores all input.
PROGRAM = r"""
import os, select, sys, time, tty
answer = len(sys.argv) > 1
fd = sys.stdin.fileno()
tty.setraw(fd)
w = sys.stdout.write
w("\x1b[?2004h\x1b[2J\x1b[1;1Hwelcome\r\n> \r\n")
sys.stdout.flush()
row = 3
while True:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        data = os.read(fd, 65536)
        if answer and b"\r" in data.replace(b"\x1b[201~", b""):
            w(f"\x1b[{row};1Hthe answer is 42\r\n> ")
            row += 2
    w(f"\x1b[50;1Hclock {time.time():.3f} ctx 40% left")
    sys.stdout.flush()
"""


class PromptAdapter:
    """Classifier of PROGRAM's screen: the `> ` prompt means idle."""

    name = "test"

    def classify(self, screen: str) -> Detection:
        if any(line.startswith(">") for line in screen.splitlines()):
            return Detection(AgentState.IDLE, 0.9, ["idle:prompt"])
        return Detection(AgentState.UNKNOWN, 0.0)

    def submit_delay_secs(self) -> float:
        return 0.0


def start(tmp_path, *args: str) -> TmuxBackend:
    backend = TmuxBackend()
    backend.create("prog", [sys.executable, "-c", PROGRAM, *args], cwd=tmp_path, env={})
    deadline = time.monotonic() + 20
    while "clock" not in backend.capture("prog") and time.monotonic() < deadline:
        time.sleep(0.05)
    return backend


def submit(backend: TmuxBackend) -> str:
    backend.send_text("prog", "hello", submit=False)
    baseline = backend.capture("prog")
    backend.send_keys("prog", "Enter")
    return baseline


def test_footer_redraws_never_complete_a_wait(tmux_socket, tmp_path):
    backend = start(tmp_path)
    baseline = submit(backend)
    res = wait_for_settle(backend, "prog", PromptAdapter(), timeout_secs=3, idle_stable_secs=0.5,
                          startup_grace_secs=60, baseline=baseline)
    assert res.outcome == "timeout" and not res.activity_seen


def test_printed_output_counts_as_activity_even_without_a_working_state(tmux_socket, tmp_path):
    backend = start(tmp_path, "answer")
    baseline = submit(backend)
    res = wait_for_settle(backend, "prog", PromptAdapter(), timeout_secs=20, idle_stable_secs=0.5,
                          startup_grace_secs=60, baseline=baseline)
    assert res.completed and res.activity_seen and res.source == "runtime_signal"
    assert "the answer is 42" in res.screen


def test_after_the_grace_period_an_idle_agent_completes_with_a_detail(tmux_socket, tmp_path):
    backend = start(tmp_path)
    baseline = submit(backend)
    res = wait_for_settle(backend, "prog", PromptAdapter(), timeout_secs=20, idle_stable_secs=0.5,
                          startup_grace_secs=1.0, baseline=baseline)
    assert res.completed and res.detail == "completion_before_activity_after_grace"


def test_a_killed_session_ends_the_wait_as_stopped(tmux_socket, tmp_path):
    import threading

    backend = start(tmp_path)
    threading.Timer(0.5, lambda: backend.kill("prog")).start()
    res = wait_for_settle(backend, "prog", PromptAdapter(), timeout_secs=20, idle_stable_secs=5,
                          startup_grace_secs=60, baseline=backend.capture("prog"))
    assert res.outcome == "stopped"
