"""Per-agent runtime homes: seeded so no first-run dialog blocks an unattended agent."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tutti.config.models import Profile
from tutti.errors import ConfigError
from tutti.runtimes.prepare import agent_home, prepare_runtime_env

CONFIG = """
[workspace]
name = "prep"

[[agent]]
name = "a"
runtime = "claude-code"

[[agent]]
name = "mine"
runtime = "claude-code"
share_home = true
"""


@pytest.fixture
def ws(git_repo):
    (git_repo / "tutti.toml").write_text(CONFIG)
    from tutti.workspace import load_workspace_at

    return load_workspace_at(git_repo)


@pytest.fixture
def profile():
    return Profile(name="fake", base_url="http://127.0.0.1:5555", model="m-1", api_key_env="TUTTI_TEST_KEY")


PENV = {"TUTTI_TEST_KEY": "sk-test-abcdefghijklmnopqrstuvwxyz"}


def test_claude_gets_its_own_config_dir_with_onboarding_done_and_worktree_trusted(ws, profile):
    env = prepare_runtime_env(ws, "a", "claude-code", {"X": "1"}, profile=profile, process_env=PENV)
    config_dir = agent_home(ws, "a") / ".claude"
    assert env["CLAUDE_CONFIG_DIR"] == str(config_dir)
    assert env["X"] == "1"
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:5555"
    assert env["ANTHROPIC_AUTH_TOKEN"] == PENV["TUTTI_TEST_KEY"]  # a bearer token raises no key dialog
    assert env["ANTHROPIC_MODEL"] == "m-1"
    data = json.loads((config_dir / ".claude.json").read_text())
    assert data["hasCompletedOnboarding"] is True
    trust = data["projects"][str(ws.worktree_path("a").resolve())]
    assert trust["hasTrustDialogAccepted"] is True
    assert (config_dir / ".claude.json").stat().st_mode & 0o777 == 0o600


def test_claude_api_key_in_env_is_pre_approved_and_claudes_own_keys_survive(ws):
    config = agent_home(ws, "a") / ".claude" / ".claude.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"userID": "u1", "customApiKeyResponses": {"approved": [], "rejected": ["klmnopqrstuvwxyz0123"]}}))
    prepare_runtime_env(ws, "a", "claude-code", {"ANTHROPIC_API_KEY": "sk-ant-abcdefghijklmnopqrstuvwxyz0123"}, bypass=True)
    data = json.loads(config.read_text())
    assert data["userID"] == "u1"
    assert data["customApiKeyResponses"] == {"approved": ["klmnopqrstuvwxyz0123"], "rejected": []}
    assert data["bypassPermissionsModeAccepted"] is True


def test_share_home_only_trusts_the_worktree_in_the_users_own_config(ws, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    user_config = tmp_path / "user" / ".claude.json"
    user_config.parent.mkdir()
    user_config.write_text(json.dumps({"oauthAccount": {"email": "me@example.com"}, "projects": {"/x": {"a": 1}}}))
    env = prepare_runtime_env(ws, "mine", "claude-code", {})
    assert "CLAUDE_CONFIG_DIR" not in env
    data = json.loads(user_config.read_text())
    assert data["oauthAccount"] == {"email": "me@example.com"}
    assert data["projects"]["/x"] == {"a": 1}
    assert data["projects"][str(ws.worktree_path("mine").resolve())]["hasTrustDialogAccepted"] is True
    assert not agent_home(ws, "mine").exists()


def test_codex_home_has_a_responses_provider_and_a_trusted_folder(ws, profile):
    env = prepare_runtime_env(ws, "a", "codex", {}, profile=profile, process_env=PENV)
    codex_home = agent_home(ws, "a") / ".codex"
    assert env["CODEX_HOME"] == str(codex_home)
    assert env["OPENAI_API_KEY"] == PENV["TUTTI_TEST_KEY"]
    cfg = tomllib.loads((codex_home / "config.toml").read_text())
    assert cfg["model"] == "m-1"
    assert cfg["model_provider"] == "tutti"
    assert cfg["model_providers"]["tutti"] == {
        "name": "tutti", "base_url": "http://127.0.0.1:5555", "env_key": "OPENAI_API_KEY", "wire_api": "responses"}
    assert cfg["projects"][str(ws.worktree_path("a").resolve())]["trust_level"] == "trusted"
    assert cfg["check_for_update_on_startup"] is False


def test_codex_config_keeps_what_codex_saved_itself(ws, profile):
    path = agent_home(ws, "a") / ".codex" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('# mine\n[tui]\nscreen_reader_detection_done = true\n\n[projects."/other"]\ntrust_level = "trusted"\n')
    prepare_runtime_env(ws, "a", "codex", {}, profile=profile, process_env=PENV)
    text = path.read_text()
    cfg = tomllib.loads(text)
    assert "# mine" in text
    assert cfg["tui"]["screen_reader_detection_done"] is True
    assert cfg["projects"]["/other"]["trust_level"] == "trusted"
    assert str(ws.worktree_path("a").resolve()) in cfg["projects"]


def test_gemini_uses_api_key_auth_and_workspace_trust_from_env(ws, profile):
    env = prepare_runtime_env(ws, "a", "gemini-cli", {}, profile=profile, process_env=PENV)
    assert env["GEMINI_CLI_HOME"] == str(agent_home(ws, "a"))
    assert env["GEMINI_CLI_TRUST_WORKSPACE"] == "true"
    assert env["CI"] == "0"  # else, under CI=true, Gemini runs one headless turn and exits
    assert env["GOOGLE_GEMINI_BASE_URL"] == "http://127.0.0.1:5555"
    assert env["GEMINI_API_KEY"] == PENV["TUTTI_TEST_KEY"]
    settings = json.loads((agent_home(ws, "a") / ".gemini" / "settings.json").read_text())
    assert settings["security"]["auth"]["selectedType"] == "gemini-api-key"


def test_aider_first_run_prompts_are_switched_off_and_history_kept_out_of_the_worktree(ws, profile):
    env = prepare_runtime_env(ws, "a", "aider", {}, profile=profile, process_env=PENV)
    assert env["OPENAI_API_BASE"] == "http://127.0.0.1:5555"
    assert env["AIDER_MODEL"] == "openai/m-1"
    for key in ("AIDER_CHECK_UPDATE", "AIDER_SHOW_RELEASE_NOTES", "AIDER_SHOW_MODEL_WARNINGS", "AIDER_GITIGNORE"):
        assert env[key] == "false"
    assert Path(env["AIDER_CHAT_HISTORY_FILE"]).parent == agent_home(ws, "a")


def test_workspace_env_wins_over_the_profile(ws, profile):
    env = prepare_runtime_env(ws, "a", "claude-code", {"ANTHROPIC_BASE_URL": "http://127.0.0.1:1"},
                              profile=profile, process_env=PENV)
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:1"


def test_missing_key_variable_is_a_config_error_naming_it(ws, profile):
    with pytest.raises(ConfigError) as exc:
        prepare_runtime_env(ws, "a", "codex", {}, profile=profile, process_env={})
    assert "TUTTI_TEST_KEY" in exc.value.message and "'a'" in exc.value.message


def test_gemini_telemetry_log_is_rotated_at_launch_once_it_is_large(ws, monkeypatch):
    from tutti.runtimes import prepare

    monkeypatch.setattr(prepare, "TELEMETRY_MAX_BYTES", 10)
    log = prepare.gemini_telemetry_file(agent_home(ws, "a"))
    log.parent.mkdir(parents=True)
    log.write_text("x" * 11)
    env = prepare_runtime_env(ws, "a", "gemini-cli", {})
    assert env["GEMINI_TELEMETRY_OUTFILE"] == str(log) and env["GEMINI_TELEMETRY_TARGET"] == "local"
    assert not log.exists() and log.with_name(log.name + ".1").read_text() == "x" * 11


def test_codex_provider_tuning_set_beforehand_survives(ws, profile):
    path = agent_home(ws, "a") / ".codex" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[model_providers.tutti]\nstream_idle_timeout_ms = 15000\nbase_url = "http://old"\n')
    prepare_runtime_env(ws, "a", "codex", {}, profile=profile, process_env=PENV)
    entry = tomllib.loads(path.read_text())["model_providers"]["tutti"]
    assert entry["stream_idle_timeout_ms"] == 15000  # the harness's (or user's) tuning is kept
    assert entry["base_url"] == "http://127.0.0.1:5555" and entry["wire_api"] == "responses"


def test_claude_gives_up_retrying_after_three_attempts_unless_the_agent_says_otherwise(ws, profile):
    env = prepare_runtime_env(ws, "a", "claude-code", {}, profile=profile, process_env=PENV)
    assert env["CLAUDE_CODE_MAX_RETRIES"] == "3"
    env = prepare_runtime_env(ws, "a", "claude-code", {"CLAUDE_CODE_MAX_RETRIES": "10"}, profile=profile,
                              process_env=PENV)
    assert env["CLAUDE_CODE_MAX_RETRIES"] == "10"
