"""Real tmux for fake-agent tests: a private tmux server per test (`-L` socket), 200×50."""

from __future__ import annotations

import os
import shlex
import sys
import time
import uuid
from pathlib import Path

import pytest

from tutti import proc
from tutti.runtimes.fake import FakeAdapter

POLL_TIMEOUT = 30.0  # generous: the machine is shared and loaded


class FakePane:
    def __init__(self, socket: str, cwd: Path, record: Path) -> None:
        self.socket = socket
        self.cwd = cwd
        self.record = record
        self.session = "fake"
        self.look = "claude"

    def tmux(self, *args: str, input: str | None = None) -> str:
        return proc.check_output(["tmux", "-L", self.socket, *args], input=input, timeout=30)

    def start(self, *agent_args: str, look: str = "claude", script: Path | None = None,
              wrap_exit_status: Path | None = None) -> None:
        self.look = look
        env = {"TUTTI_FAKE_RECORD": str(self.record), "PYTHONPATH": os.pathsep.join(sys.path)}
        if script is not None:
            env["TUTTI_FAKE_SCRIPT"] = str(script)
        argv = [sys.executable, "-m", "tutti.testing.fake_agent", "--look", look, *agent_args]
        env_args = [a for k, v in env.items() for a in ("-e", f"{k}={v}")]
        if wrap_exit_status is not None:
            # test-only wrapper: every value is ours and shell-quoted
            argv = ["/bin/sh", "-c", f'{shlex.join(argv)}; echo $? > {shlex.quote(str(wrap_exit_status))}; sleep 60']
        self.tmux("-f", "/dev/null", "new-session", "-d", "-x", "200", "-y", "50", "-s", self.session,
                  "-c", str(self.cwd), *env_args, *argv)

    def capture(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def classify(self):
        # The default adapter, as `tt` builds it for runtime = "fake": it must find the look
        # from the screen itself (the `fake:<look>` marker), whatever look was launched.
        return FakeAdapter().classify(self.capture())

    def paste(self, text: str) -> None:
        buf = f"t{uuid.uuid4().hex[:8]}"
        self.tmux("load-buffer", "-b", buf, "-", input=text)
        self.tmux("paste-buffer", "-p", "-d", "-b", buf, "-t", self.session)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def send(self, text: str) -> None:
        self.paste(text)
        time.sleep(0.1)
        self.keys("Enter")

    def wait_state(self, state: str, timeout: float = POLL_TIMEOUT):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.classify()
            if last.state.value == state:
                return last
            time.sleep(0.1)
        raise AssertionError(f"agent never reached {state}; last {last}\n{self.capture()}")

    def wait_for(self, predicate, timeout: float = POLL_TIMEOUT, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}\n{self.capture()}")

    def recorded(self) -> list[dict]:
        import json

        if not self.record.exists():
            return []
        text = self.record.read_text(encoding="utf-8")
        complete = text[: text.rfind("\n") + 1]  # the writer may be mid-line
        return [json.loads(line) for line in complete.splitlines() if line]


@pytest.fixture
def fake_pane(tmp_path):
    cwd = tmp_path / "work"
    cwd.mkdir()
    pane = FakePane(f"tutti-test-{uuid.uuid4().hex[:10]}", cwd, tmp_path / "record.jsonl")
    yield pane
    proc.run(["tmux", "-L", pane.socket, "kill-server"], timeout=30)
