"""Shared fixtures: an isolated TUTTI_HOME for every test, real git repos, and a way to run
`tt` exactly as a user does (a subprocess of the installed console script)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def tutti_home(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own global config dir; nothing touches the user's ~/.config."""
    home = tmp_path_factory.mktemp("tutti-home")
    monkeypatch.setenv("TUTTI_HOME", str(home))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Tutti Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@tutti.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Tutti Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@tutti.invalid")
    return home


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def git_repo(tmp_path) -> Path:
    """A real git repository on branch main with one commit."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Tutti Test")
    git(repo, "config", "user.email", "test@tutti.invalid")
    git(repo, "config", "commit.gpgsign", "false")
    (repo / "README.md").write_text("# demo\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


@dataclass
class TTResult:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def tt():
    """Run `tt` as a subprocess: `tt(*args, cwd=..., timeout=...)`."""

    def _run(*args: str, cwd: Path | None = None, timeout: float = 120, env: dict | None = None,
             input: str | None = None) -> TTResult:
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        proc = subprocess.run(
            [sys.executable, "-m", "tutti", *args], cwd=cwd, capture_output=True, text=True,
            timeout=timeout, env=full_env, input=input,
        )
        return TTResult(proc.returncode, proc.stdout, proc.stderr)

    return _run


@pytest.fixture
def tmux_socket(monkeypatch) -> str:
    """A private tmux server for this test (`TUTTI_TMUX_SOCKET`), killed at teardown together
    with any Tutti watcher process that was started against it."""
    import shutil
    import signal
    import uuid

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    name = f"tutti-test-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("TUTTI_TMUX_SOCKET", name)
    monkeypatch.delenv("TMUX", raising=False)
    yield name
    subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True)
    marker = f"TUTTI_TMUX_SOCKET={name}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0") and \
                    b"tutti.supervisor" in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGTERM)
        except (OSError, ValueError):
            continue


@pytest.fixture
def fake_workspace(git_repo, tmux_socket):
    """`fake_workspace(agents, script=..., env=...)` → a git repo with a tutti.toml whose agents
    run the shipped fake agent CLI (runtime `fake`), each recording received prompts to
    `<repo>/.records/<agent>.jsonl`. Uses the test's private tmux server."""

    def _make(agents: list[dict], *, script: str | None = None, env: dict | None = None, name: str = "demo") -> Path:
        records = git_repo / ".records"
        records.mkdir(exist_ok=True)
        lines = [f'[workspace]\nname = "{name}"\n', '[defaults]\nruntime = "fake"\n']
        if env:
            lines.append("[workspace.env]\n" + "".join(f'{k} = "{v}"\n' for k, v in env.items()))
        script_path = records / "script.toml"
        script_path.write_text(script or 'work_secs = 0.6\nreply = "Done."\n')
        for agent in agents:
            agent_env = {"TUTTI_FAKE_SCRIPT": str(script_path),
                         "TUTTI_FAKE_RECORD": str(records / f"{agent['name']}.jsonl")}
            body = [f'[[agent]]\nname = "{agent["name"]}"\n']
            if agent.get("depends_on"):
                body.append("depends_on = [" + ", ".join(f'"{d}"' for d in agent["depends_on"]) + "]\n")
            for key in ("branch", "worktree"):
                if key in agent:
                    value = agent[key]
                    body.append(f"{key} = " + (str(value).lower() if isinstance(value, bool) else f'"{value}"') + "\n")
            body.append("env = { " + ", ".join(f'{k} = "{v}"' for k, v in agent_env.items()) + " }\n")
            lines.append("".join(body))
        (git_repo / "tutti.toml").write_text("\n".join(lines))
        ignore = git_repo / ".git" / "info" / "exclude"
        ignore.write_text(ignore.read_text() + ".records/\ntutti.toml\n")
        return git_repo

    return _make


@pytest.fixture
def agent_pipeline(git_repo, tmux_socket):
    """`agent_pipeline(agents, body)` → a workspace root whose agents run the fake agent CLI, each
    driven by its OWN JSON script: `agents = {"planner": {"rule": [...]}, ...}` (fake_script
    format), `body` = the rest of tutti.toml (workflows, [gate], ...). Prompts are recorded to
    `<repo>/.records/<agent>.jsonl`; `.tutti/`, `.records/` and tutti.toml stay untracked so
    the project tree is clean for `land`. Uses the test's private tmux server."""
    import json as _json

    def _make(agents: dict[str, dict], body: str = "", *, name: str = "pipe", persistent: tuple[str, ...] = ()) -> Path:
        records = git_repo / ".records"
        records.mkdir(exist_ok=True)
        parts = [f'[workspace]\nname = "{name}"\n', '[defaults]\nruntime = "fake"\n']
        for agent, script in agents.items():
            script_path = records / f"{agent}.script.json"
            script_path.write_text(_json.dumps({"work_secs": 0.5, **script}))
            parts.append(
                f'[[agent]]\nname = "{agent}"\n' + ("persistent = true\n" if agent in persistent else "")
                + f'env = {{ TUTTI_FAKE_SCRIPT = "{script_path}", TUTTI_FAKE_RECORD = "{records / (agent + ".jsonl")}" }}\n'
            )
        parts.append(body)
        (git_repo / "tutti.toml").write_text("\n".join(parts))
        exclude = git_repo / ".git" / "info" / "exclude"
        exclude.write_text(exclude.read_text() + ".records/\ntutti.toml\n.tutti/\n")
        return git_repo

    return _make


@pytest.fixture
def forge(tmp_path, monkeypatch):
    """The scripted forge (`tutti.testing.forge`) on 127.0.0.1, with GITHUB_API_URL and
    GITHUB_TOKEN pointing every client at it (subprocesses inherit them)."""
    from tutti.testing.forge import ScriptedForge

    for var in ("GITHUB_REPOSITORY", "GH_TOKEN", "GITHUB_ACTIONS", "GITHUB_ACTOR", "GITHUB_RUN_ID", "GITHUB_GRAPHQL_URL"):
        monkeypatch.delenv(var, raising=False)
    with ScriptedForge(tmp_path / "forge") as srv:
        monkeypatch.setenv("GITHUB_API_URL", srv.url)
        monkeypatch.setenv("GITHUB_TOKEN", "forge-test-token")
        yield srv
