"""Harness of the real-runtime tier: the real agent CLIs (installed by
scripts/install-agent-clis.sh), in tmux under `tt`, against the scripted model server.

Every test gets its own git repo, TUTTI_HOME (with a profile pointing at the server), and a
private tmux server (TUTTI_TMUX_SOCKET), killed at the end — so nothing leaks between tests.
Timings (prompt → idle, failure detection latency) are appended as JSON lines to
$TUTTI_REAL_RUNTIME_TIMINGS when set, and printed (run with -s to see them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tutti.testing.model_server import ScriptedModelServer

BINARIES = {"claude-code": "claude", "codex": "codex", "gemini-cli": "gemini", "aider": "aider"}
HELLO = "Hello from the fake LLM\n"


def cli_bin_dir() -> Path | None:
    """Where scripts/install-agent-clis.sh put the CLIs (or None)."""
    cache = Path(os.environ.get("TUTTI_AGENT_CLIS_DIR") or Path.home() / ".cache" / "tutti-agent-clis")
    if all((cache / "bin" / b).exists() for b in BINARIES.values()):
        return cache / "bin"
    return None


def require_cli(runtime: str) -> Path:
    """The directory holding the runtime's binary; skip (with the fix) when it is absent."""
    binary = BINARIES[runtime]
    found = cli_bin_dir()
    if found is not None:
        return found
    on_path = shutil.which(binary)
    if on_path:
        return Path(on_path).parent
    pytest.skip(f"{binary} is not installed: run scripts/install-agent-clis.sh (real-runtime tier)")


# -- per-runtime scripts: what the model "does" in each wire format --------------------------------
def write_turn(runtime: str) -> dict[str, Any]:
    usage = {"input_tokens": 1200, "output_tokens": 42, "cached_tokens": 500}
    if runtime == "claude-code":
        return {"tool_calls": [{"name": "Write", "arguments": {"file_path": "hello.txt", "content": HELLO}}], "usage": usage}
    if runtime == "codex":
        return {"tool_calls": [{"name": "exec_command", "arguments": {"cmd": "printf 'Hello from the fake LLM\\n' > hello.txt"}}],
                "usage": usage}
    if runtime == "gemini-cli":
        return {"tool_calls": [{"name": "write_file", "arguments": {"file_path": "hello.txt", "content": HELLO}}], "usage": usage}
    # Aider has no tool calls: it applies edits written in its "whole" edit format.
    return {"text": f"hello.txt\n```\n{HELLO}```\n", "usage": usage}


def final_turn() -> dict[str, Any]:
    return {"text": "DONE", "usage": {"input_tokens": 1300, "output_tokens": 5, "cached_tokens": 0}}


def base_url(runtime: str, srv: ScriptedModelServer) -> str:
    # Anthropic and Gemini clients add their own path; OpenAI-style clients want /v1.
    return srv.url if runtime in ("claude-code", "gemini-cli") else srv.base_url


MODELS = {"claude-code": "claude-test", "codex": "fake-model", "gemini-cli": "gemini-2.5-flash", "aider": "fake-model"}
# Keep each runtime's own retrying short so failures surface within the test's patience.
AGENT_ENV = {"claude-code": {"CLAUDE_CODE_MAX_RETRIES": "1"}}


@dataclass
class RealWorkspace:
    runtime: str
    root: Path
    env: dict[str, str]
    server: ScriptedModelServer
    socket: str
    timings: list[dict[str, Any]] = field(default_factory=list)
    last_evidence: list[str] = field(default_factory=list)

    @property
    def worktree(self) -> Path:
        return self.root / ".tutti" / "worktrees" / "agent"

    def tt(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tutti", *args], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def ok(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        r = self.tt(*args, timeout=timeout)
        assert r.returncode == 0, f"tt {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n{self.peek()}"
        return r

    def peek(self) -> str:
        r = self.tt("peek", "agent", "--lines", "0", timeout=30)
        return r.stdout

    def status(self) -> dict[str, Any]:
        r = self.ok("status", "--json", timeout=60)
        data = json.loads(r.stdout)
        rows = data if isinstance(data, list) else data.get("agents", data)
        return next(a for a in rows if a.get("agent") == "agent")

    def wait_state(self, want: set[str], timeout: float) -> tuple[str, float]:
        """Poll `tt status` until the agent's state is in `want`; (state, seconds)."""
        start = time.monotonic()
        state = None
        while time.monotonic() - start < timeout:
            row = self.status()
            state = row["state"]
            if state in want:
                self.last_evidence = list(row.get("evidence") or [])[:3]
                return state, time.monotonic() - start
            time.sleep(0.5)
        raise AssertionError(f"agent never reached {sorted(want)} within {timeout}s (last: {state})\n{self.peek()}")

    def record(self, what: str, secs: float, **extra: Any) -> None:
        row = {"runtime": self.runtime, "what": what, "secs": round(secs, 2), **extra}
        if what.startswith("detect_"):
            row.setdefault("evidence", self.last_evidence)
        self.timings.append(row)
        print(f"[real-runtime] {json.dumps(row)}")
        out = os.environ.get("TUTTI_REAL_RUNTIME_TIMINGS")
        if out:
            with open(out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")


def make_workspace(runtime: str, tmp_path: Path, tutti_home: Path, *, script: dict[str, Any],
                   agent_keys: str = "", env: dict[str, str] | None = None) -> RealWorkspace:
    bin_dir = require_cli(runtime)
    server = ScriptedModelServer(script).start()
    root = tmp_path / "repo"
    root.mkdir()
    for args in (["init", "-q", "-b", "main"], ["config", "user.name", "Tutti Test"],
                 ["config", "user.email", "test@tutti.invalid"], ["config", "commit.gpgsign", "false"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    (root / "README.md").write_text("# demo\n")
    (root / ".gitignore").write_text(".tutti/\n")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "initial"], cwd=root, check=True)
    agent_env = "".join(f'{k} = "{v}"\n' for k, v in AGENT_ENV.get(runtime, {}).items())
    (root / "tutti.toml").write_text(
        f'[workspace]\nname = "rt-{runtime}"\n\n[workspace.auth]\ndefault_profile = "fake"\n\n'
        f'[[agent]]\nname = "agent"\nruntime = "{runtime}"\n{agent_keys}'
        + (f"\n[agent.env]\n{agent_env}" if agent_env else ""))
    (tutti_home / "config.toml").write_text(
        f'[[profile]]\nname = "fake"\nbase_url = "{base_url(runtime, server)}"\nmodel = "{MODELS[runtime]}"\n'
        f'api_key_env = "TUTTI_FAKE_KEY"\n')
    socket = f"tutti-rt-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, **(env or {})}
    env.update({"TUTTI_HOME": str(tutti_home), "TUTTI_TMUX_SOCKET": socket, "TUTTI_FAKE_KEY": "sk-fake-0123456789abcdefghij",
                "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"})
    return RealWorkspace(runtime, root, env, server, socket)


STARTUP_SECS = 60.0


def script_for(runtime: str) -> dict:
    """Write hello.txt (in the runtime's own tool), then answer DONE. Side requests some CLIs
    make without tools (titles, routing) get the fallback instead of consuming turns."""
    return {"turns": [write_turn(runtime), final_turn()], "tool_requests_only": runtime != "aider",
            "fallback": {"text": "OK", "usage": {"input_tokens": 10, "output_tokens": 1, "cached_tokens": 0}}}


def up_to_idle(ws: RealWorkspace, *extra: str) -> float:
    """`tt up agent` and wait for idle; fails (with the screen) if anything else shows up."""
    start = time.monotonic()
    ws.ok("up", "agent", *extra, timeout=120)
    state, _ = ws.wait_state({"idle", "waiting", "auth_failed", "rate_limited", "provider_down", "stopped"},
                             STARTUP_SECS)
    assert state == "idle", f"after tt up the agent is {state}, not idle (a first-run dialog?)\n{ws.peek()}"
    return time.monotonic() - start


@pytest.fixture
def real_workspace(tmp_path, tutti_home):
    """Factory: `real_workspace(runtime, script)`; tears down sessions, tmux server, model server."""
    made: list[RealWorkspace] = []

    def factory(runtime: str, script: dict[str, Any], **kw: Any) -> RealWorkspace:
        ws = make_workspace(runtime, tmp_path, tutti_home, script=script, **kw)
        made.append(ws)
        return ws

    yield factory
    for ws in made:
        ws.tt("down", timeout=60)
        subprocess.run(["tmux", "-L", ws.socket, "kill-server"], capture_output=True, check=False)
        ws.server.stop()
