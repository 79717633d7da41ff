"""The real agent CLIs complete a turn with a file-writing tool call against the scripted model
server (non-interactive modes; the tmux tier lives with the runtime tests). Skipped unless the
CLIs are installed (scripts/install-agent-clis.sh)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tutti.testing.model_server import ScriptedModelServer

pytestmark = pytest.mark.real_runtime
CLIS = Path(os.environ.get("TUTTI_AGENT_CLIS_DIR", Path.home() / ".cache" / "tutti-agent-clis")) / "bin"


def cli(name: str) -> str:
    path = CLIS / name
    if not path.exists():
        pytest.skip(f"{name} not installed (scripts/install-agent-clis.sh)")
    return str(path)


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    full.update(env)
    return subprocess.run(argv, check=False, cwd=cwd, env=full, capture_output=True, text=True, timeout=180)


def create_hello_script(tool: str, arguments: dict, *, tool_requests_only: bool = True) -> dict:
    """A model turn script: "Creating it." with one `tool` call, then "Created hello.txt."."""
    script: dict = {
        "turns": [
            {"text": "Creating it.", "tool_calls": [{"name": tool, "arguments": arguments}]},
            {"text": "Created hello.txt."},
        ]
    }
    if tool_requests_only:
        script["tool_requests_only"] = True
    return script


@pytest.fixture
def home(tmp_path) -> Path:
    home = tmp_path / "home"
    (home / ".gemini").mkdir(parents=True)
    (home / ".gemini" / "settings.json").write_text(
        json.dumps(
            {"security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": False}}}
        )
    )
    return home


def test_claude_code_writes_a_file_via_anthropic_messages(tmp_path, home):
    work = tmp_path / "work"
    work.mkdir()
    script = create_hello_script(
        "Write", {"file_path": str(work / "hello.txt"), "content": "hello from claude\n"}
    )
    with ScriptedModelServer(script) as srv:
        out = run(
            [
                cli("claude"),
                "-p",
                "create hello.txt",
                "--permission-mode",
                "acceptEdits",
                "--allowedTools",
                "Write",
            ],
            work,
            {
                "HOME": str(home),
                "ANTHROPIC_BASE_URL": srv.url,
                "ANTHROPIC_API_KEY": "sk-scripted",
                "DISABLE_TELEMETRY": "1",
            },
        )
        assert (work / "hello.txt").read_text() == "hello from claude\n", out.stdout + out.stderr
        assert "Created hello.txt." in out.stdout
        assert {r.protocol for r in srv.requests()} == {"anthropic"}


def test_codex_writes_a_file_via_openai_responses(tmp_path, home):
    work, codex_home = tmp_path / "work", tmp_path / "codex"
    work.mkdir()
    codex_home.mkdir()
    script = create_hello_script(
        "exec_command", {"cmd": "echo hello from codex > hello.txt"}, tool_requests_only=False
    )
    with ScriptedModelServer(script) as srv:
        (codex_home / "config.toml").write_text(
            'model = "gpt-5"\nmodel_provider = "scripted"\n[model_providers.scripted]\nname = "scripted"\n'
            f'base_url = "{srv.base_url}"\nenv_key = "SCRIPTED_KEY"\nwire_api = "responses"\n'
        )
        out = run(
            [
                cli("codex"),
                "exec",
                "--skip-git-repo-check",
                "--dangerously-bypass-approvals-and-sandbox",
                "create hello.txt",
            ],
            work,
            {"HOME": str(home), "CODEX_HOME": str(codex_home), "SCRIPTED_KEY": "k"},
        )
        assert (work / "hello.txt").read_text() == "hello from codex\n", out.stdout + out.stderr
        assert {r.protocol for r in srv.requests()} == {"openai_responses"}


def test_gemini_cli_writes_a_file_via_generate_content(tmp_path, home):
    work = tmp_path / "work"
    work.mkdir()
    script = create_hello_script(
        "write_file", {"file_path": str(work / "hello.txt"), "content": "hello from gemini\n"}
    )
    with ScriptedModelServer(script) as srv:
        out = run(
            [cli("gemini"), "-p", "create hello.txt", "--yolo"],
            work,
            {"HOME": str(home), "GEMINI_API_KEY": "k", "GOOGLE_GEMINI_BASE_URL": srv.url},
        )
        assert (work / "hello.txt").read_text() == "hello from gemini\n", out.stdout + out.stderr
        assert {r.protocol for r in srv.requests()} == {"gemini"}


def test_aider_applies_an_edit_block_via_chat_completions(tmp_path, home):
    work = tmp_path / "work"
    work.mkdir()
    text = "hello.txt\n```\n<<<<<<< SEARCH\n=======\nhello from aider\n>>>>>>> REPLACE\n```\n"
    with ScriptedModelServer({"turns": [{"text": text}]}) as srv:
        out = run(
            [
                cli("aider"),
                "--message",
                "create hello.txt",
                "--yes-always",
                "--no-git",
                "--openai-api-base",
                srv.base_url,
                "--openai-api-key",
                "k",
                "--model",
                "openai/gpt-4o",
                "--no-check-update",
                "--no-show-model-warnings",
                "--no-analytics",
                "hello.txt",
            ],
            work,
            {"HOME": str(home)},
        )
        assert (work / "hello.txt").read_text() == "hello from aider\n", out.stdout + out.stderr
        assert {r.protocol for r in srv.requests()} == {"openai_chat"}
