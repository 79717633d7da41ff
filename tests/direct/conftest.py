"""Fixtures for API-direct tests: a scripted model server on 127.0.0.1 and a real git
workspace whose agents talk to it through global `plan = "api"` profiles."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from tutti.testing.model_server import ScriptedModelServer

SECRET = "sk-test-SECRET-0123456789abcdef"


@pytest.fixture
def model_server():
    started: list[ScriptedModelServer] = []

    def start(script=None) -> ScriptedModelServer:
        srv = ScriptedModelServer(script).start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


def commit_all(repo: Path, message: str = "update") -> None:
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, capture_output=True)
    subprocess.run(
        ["git", "commit", "-q", "--allow-empty", "-m", message], cwd=repo, check=True, capture_output=True
    )


@pytest.fixture
def direct_ws(git_repo, tutti_home, monkeypatch):
    """`make(agent_toml, profiles_toml, extra_toml="")` -> Workspace rooted at the git repo."""
    monkeypatch.setenv("TUTTI_TEST_KEY", SECRET)

    def make(agent_toml: str, profiles_toml: str, extra_toml: str = "", resilience: str = "") -> object:
        from tutti.workspace import load_workspace_at

        (git_repo / "tutti.toml").write_text(
            '[workspace]\nname = "directdemo"\n\n'
            + textwrap.dedent(agent_toml)
            + "\n"
            + textwrap.dedent(extra_toml)
        )
        (tutti_home / "config.toml").write_text(
            textwrap.dedent(profiles_toml)
            + "\n[resilience]\n"
            + (textwrap.dedent(resilience) or "retry_initial_backoff_ms = 20\nretry_max_backoff_ms = 60\n")
        )
        if (git_repo / ".gitignore").exists() is False:
            (git_repo / ".gitignore").write_text(".tutti/\n")
        commit_all(git_repo, "workspace config")
        return load_workspace_at(git_repo)

    return make


def api_profile(
    name: str, srv: ScriptedModelServer, *, kind: str = "openai", model: str = "gpt-4o", priority: int = 1
) -> str:
    base = srv.url if kind in ("anthropic", "gemini") else srv.base_url
    return textwrap.dedent(f"""
        [[profile]]
        name = "{name}"
        provider = "{kind}"
        plan = "api"
        priority = {priority}
        model = "{model}"
        base_url = "{base}"
        api_key_env = "TUTTI_TEST_KEY"
        """)


def events(ws, run_id: str, prefix: str = "direct.") -> list:
    return ws.store.read_events(0, run_id=run_id, kind_prefix=prefix, limit=10000)
