"""Per-agent runtime environment: an isolated, pre-seeded config home so no first-run dialog
(onboarding, folder trust, API-key approval, model pop-ups, update notices) can block an
unattended agent, plus the provider endpoint and key for the session environment.

Layout: `.tutti/homes/<agent>/` holds `.claude/` (`CLAUDE_CONFIG_DIR`), `.codex/`
(`CODEX_HOME`) and `.gemini/` (under `GEMINI_CLI_HOME`); Aider is configured through
`AIDER_*` variables. `HOME` itself is never replaced, so git identity, ssh keys and `gh` keep
working inside the agent's shell. With `share_home = true` on the agent the runtime uses the
user's own config (and logins); Tutti then only marks the agent's worktree as trusted in
that config, touching no other key.

Values come from (later wins): the profile (`base_url`, `model`, `api_key_env` — the *name*
of a variable of the `tt` process holding the key), then `base_env` (`[workspace.env]` and
`[[agent]].env`). Everything returned is meant for the tmux session environment, never typed
into a pane.

Call site: the launch path (`ops.agents.up`) calls `prepare_runtime_env(...)` right before
starting the session and merges the result into `LaunchSpec.env`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti.errors import ConfigError
from tutti.fsutil import write_json_atomic, write_text_atomic

if TYPE_CHECKING:
    from tutti.config.models import Profile
    from tutti.workspace import Workspace

HOMES_DIRNAME = "homes"

# Variables every runtime gets: nothing phones home, nothing auto-updates mid-run.
_QUIET = {
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
}


def agent_home(ws: Workspace, agent: str) -> Path:
    """The agent's isolated config home (`.tutti/homes/<agent>`)."""
    return ws.tutti_dir / HOMES_DIRNAME / agent


@dataclass
class Provider:
    """Endpoint, key and model an agent's runtime should talk to (all optional)."""

    base_url: str | None = None
    api_key: str | None = None
    model: str | None = None

    @classmethod
    def resolve(cls, profile: Profile | None, base_env: dict[str, str], process_env: dict[str, str],
                agent: str) -> Provider:
        out = cls()
        if profile is not None:
            out.base_url = profile.base_url
            out.model = profile.model
            if profile.api_key_env:
                out.api_key = process_env.get(profile.api_key_env) or base_env.get(profile.api_key_env)
                if not out.api_key:
                    raise ConfigError(
                        f"profile {profile.name!r}: api_key_env names {profile.api_key_env}, which is not set "
                        f"(needed to launch agent {agent!r})",
                        hint=f"export {profile.api_key_env}=... before `tt up`, or remove api_key_env",
                    )
        # Explicit variables in [workspace.env] / [[agent]].env win over the profile.
        out.base_url = base_env.get("TUTTI_BASE_URL", out.base_url)
        out.model = base_env.get("TUTTI_MODEL", out.model)
        return out


def prepare_runtime_env(
    ws: Workspace,
    agent: str,
    runtime: str,
    base_env: dict[str, str],
    *,
    profile: Profile | None = None,
    workdir: Path | None = None,
    bypass: bool = False,
    process_env: dict[str, str] | None = None,
) -> dict[str, str]:
    """Seed the agent's config home for `runtime` and return the full session environment
    (`base_env` plus what the runtime needs). Idempotent: safe to call before every launch.

    `workdir` is where the runtime runs (default: the agent's worktree); it is the folder
    marked trusted. `bypass` also acknowledges the runtime's "dangerous mode" warning.
    """
    agent_model = ws.config.agent(agent)
    share_home = bool(agent_model and agent_model.share_home)
    workdir = (workdir or ws.worktree_path(agent)).resolve()
    env = dict(base_env)
    provider = Provider.resolve(profile, base_env, dict(os.environ if process_env is None else process_env), agent)
    home = agent_home(ws, agent)
    for key, value in _QUIET.items():
        env.setdefault(key, value)

    if runtime == "claude-code":
        _claude(env, home, workdir, provider, share_home, bypass)
    elif runtime == "codex":
        _codex(env, home, workdir, provider, share_home)
    elif runtime == "gemini-cli":
        _gemini(env, home, provider, share_home)
    elif runtime == "aider":
        _aider(env, home, provider, bypass)
    return env


def _provider_env(env: dict[str, str], values: dict[str, str | None]) -> None:
    """Hand the profile's endpoint, key and model to a CLI through its own variables; a value
    the agent's env already sets wins, an unset one is not exported."""
    for var, value in values.items():
        if value:
            env.setdefault(var, value)


# -- Claude Code ---------------------------------------------------------------------------------
def claude_config_file(config_dir: Path | None) -> Path:
    """`.claude.json`: inside CLAUDE_CONFIG_DIR when set, else `~/.claude.json`."""
    return config_dir / ".claude.json" if config_dir else Path.home() / ".claude.json"


def _claude(env: dict[str, str], home: Path, workdir: Path, provider: Provider, share_home: bool,
            bypass: bool) -> None:
    # A bearer token is used as-is; an ANTHROPIC_API_KEY would raise "use this API key?"
    # (default answer: No) unless pre-approved below.
    _provider_env(env, {"ANTHROPIC_BASE_URL": provider.base_url, "ANTHROPIC_AUTH_TOKEN": provider.api_key,
                        "ANTHROPIC_MODEL": provider.model})
    # Claude Code retries a failing request 10 times (~3 minutes) behind a banner that does not
    # say why ("API error · Retrying in 11s · attempt 6/10") — a 401 and a 429 look alike until
    # it gives up. Three attempts still ride out a blip; then the cause is on screen and in the
    # transcript, and Tutti's own recovery decides (an agent's env may set another value).
    env.setdefault("CLAUDE_CODE_MAX_RETRIES", "3")
    if bypass and hasattr(os, "geteuid") and os.geteuid() == 0:
        # Claude Code refuses --permission-mode bypassPermissions as root ("cannot be used with
        # root/sudo privileges") unless told it runs in a sandbox; the user asked for bypass.
        env.setdefault("IS_SANDBOX", "1")
    if share_home:
        config_dir = Path(env["CLAUDE_CONFIG_DIR"]) if env.get("CLAUDE_CONFIG_DIR") else None
        _update_json(claude_config_file(config_dir), lambda data: _trust_claude_project(data, workdir))
        return
    config_dir = home / ".claude"
    env["CLAUDE_CONFIG_DIR"] = str(config_dir)

    def seed(data: dict[str, Any]) -> None:
        data["hasCompletedOnboarding"] = True
        data.setdefault("lastOnboardingVersion", "2.1.197")
        data.setdefault("theme", "dark")
        data["autoUpdates"] = False
        data.setdefault("numStartups", 1)
        data["hasSeenTasksHint"] = True
        if bypass:
            data["bypassPermissionsModeAccepted"] = True
        key = env.get("ANTHROPIC_API_KEY")
        if key:
            responses = data.setdefault("customApiKeyResponses", {"approved": [], "rejected": []})
            tail = key[-20:]
            if tail not in responses.setdefault("approved", []):
                responses["approved"].append(tail)
            responses["rejected"] = [k for k in responses.get("rejected", []) if k != tail]
        _trust_claude_project(data, workdir)

    _update_json(claude_config_file(config_dir), seed)


def _trust_claude_project(data: dict[str, Any], workdir: Path) -> None:
    project = data.setdefault("projects", {}).setdefault(str(workdir), {})
    project["hasTrustDialogAccepted"] = True
    project["hasCompletedProjectOnboarding"] = True
    project.setdefault("allowedTools", [])


# -- Codex ------------------------------------------------------------------------------------------
def _codex(env: dict[str, str], home: Path, workdir: Path, provider: Provider, share_home: bool) -> None:
    import tomlkit

    if provider.api_key:
        env.setdefault("OPENAI_API_KEY", provider.api_key)
    if share_home:
        codex_home = Path(env.get("CODEX_HOME") or Path.home() / ".codex")
        path = codex_home / "config.toml"
        doc = _read_toml(path)
        _trust_codex_project(doc, workdir)
        write_text_atomic(path, tomlkit.dumps(doc))
        return
    codex_home = home / ".codex"
    env["CODEX_HOME"] = str(codex_home)
    path = codex_home / "config.toml"
    doc = _read_toml(path)  # keep what Codex itself saved (e.g. other trusted folders)
    doc["check_for_update_on_startup"] = False
    if provider.model:
        doc["model"] = provider.model
    if provider.base_url:
        # Codex speaks only the Responses wire format to custom providers ("chat" is rejected).
        doc["model_provider"] = "tutti"
        providers = doc.setdefault("model_providers", tomlkit.table())
        # Keep tuning the user (or a harness) set on the provider: request_max_retries,
        # stream_max_retries, stream_idle_timeout_ms.
        entry = providers.get("tutti")
        entry = entry if hasattr(entry, "update") else tomlkit.table()
        entry.update({
            "name": "tutti", "base_url": provider.base_url, "env_key": "OPENAI_API_KEY",
            "wire_api": "responses",
        })
        providers["tutti"] = entry
    notice = doc.setdefault("notice", tomlkit.table())
    notice["hide_full_access_warning"] = True
    notice["hide_rate_limit_model_nudge"] = True
    tui = doc.setdefault("tui", tomlkit.table())
    tui["show_tooltips"] = False
    # Codex 0.169's TUI otherwise starts a shared app-server daemon that outlives the tmux
    # session (and `tt down`), keeps the config it started with and holds a control socket
    # under /tmp/codex-daemon-<uid>/; a relaunch then fails with "control socket is already in use".
    doc.setdefault("features", tomlkit.table())["daemon_auto_start"] = False
    _trust_codex_project(doc, workdir)
    write_text_atomic(path, tomlkit.dumps(doc))


def _trust_codex_project(doc: Any, workdir: Path) -> None:
    import tomlkit

    projects = doc.setdefault("projects", tomlkit.table(is_super_table=True))
    entry = projects.setdefault(str(workdir), tomlkit.table())
    entry["trust_level"] = "trusted"


def _read_toml(path: Path) -> Any:
    import tomlkit

    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return tomlkit.document()
    except tomlkit.exceptions.TOMLKitError as exc:
        raise ConfigError(f"{path}: cannot parse ({exc})", hint="fix or delete the file; Tutti re-seeds it") from None


# -- Gemini CLI -------------------------------------------------------------------------------------
def _gemini(env: dict[str, str], home: Path, provider: Provider, share_home: bool) -> None:
    _provider_env(env, {"GOOGLE_GEMINI_BASE_URL": provider.base_url, "GEMINI_API_KEY": provider.api_key,
                        "GEMINI_MODEL": provider.model})
    # Folder trust without a dialog; the user's own trustedFolders.json stays untouched.
    env["GEMINI_CLI_TRUST_WORKSPACE"] = "true"
    # Gemini's UI layer takes `CI` (set by every CI system) to mean "no terminal" and runs one
    # non-interactive turn, then exits. Its pane is a real terminal, so say so: `is-in-ci`
    # treats CI=0 as "not in CI" whatever else is set.
    env["CI"] = "0"
    # Local-file telemetry only (nothing leaves the machine): the one place Gemini CLI records
    # a failed API call while its screen just says "Thinking..." for minutes
    # (runtimes.signals.gemini_telemetry reads it). Env vars, so it works with share_home too.
    home.mkdir(parents=True, exist_ok=True)
    _rotate(gemini_telemetry_file(home), TELEMETRY_MAX_BYTES)
    env.update({
        "GEMINI_TELEMETRY_ENABLED": "true",
        "GEMINI_TELEMETRY_TARGET": "local",
        "GEMINI_TELEMETRY_OUTFILE": str(gemini_telemetry_file(home)),
        "GEMINI_TELEMETRY_LOG_PROMPTS": "false",
    })
    if share_home:
        return
    env["GEMINI_CLI_HOME"] = str(home)

    def seed(data: dict[str, Any]) -> None:
        security = data.setdefault("security", {})
        security.setdefault("auth", {})["selectedType"] = "gemini-api-key"
        general = data.setdefault("general", {})
        general["disableAutoUpdate"] = True
        general["disableUpdateNag"] = True
        general["enableAutoUpdateNotification"] = False
        data.setdefault("privacy", {})["usageStatisticsEnabled"] = False
        data.setdefault("ui", {}).setdefault("hideTips", True)

    _update_json(home / ".gemini" / "settings.json", seed)


def gemini_telemetry_file(home: Path) -> Path:
    return home / "gemini-telemetry.log"


TELEMETRY_MAX_BYTES = 32 << 20  # metrics records add up over a long session


def _rotate(path: Path, max_bytes: int) -> None:
    """Keep one previous generation (`.1`) once a log outgrows `max_bytes` (at launch only)."""
    try:
        if path.stat().st_size > max_bytes:
            os.replace(path, path.with_name(path.name + ".1"))
    except FileNotFoundError:
        pass


# -- Aider --------------------------------------------------------------------------------------------
def _aider(env: dict[str, str], home: Path, provider: Provider, bypass: bool) -> None:
    _provider_env(env, {"OPENAI_API_BASE": provider.base_url, "OPENAI_API_KEY": provider.api_key})
    if provider.model:
        # Aider routes through litellm: an OpenAI-compatible endpoint needs the `openai/` prefix.
        model = provider.model if "/" in provider.model else f"openai/{provider.model}"
        env.setdefault("AIDER_MODEL", model)
    home.mkdir(parents=True, exist_ok=True)
    env.update({
        # Each of these is a first-run yes/no prompt that would swallow the first prompt typed.
        "AIDER_CHECK_UPDATE": "false",
        "AIDER_SHOW_RELEASE_NOTES": "false",
        "AIDER_SHOW_MODEL_WARNINGS": "false",
        "AIDER_GITIGNORE": "false",
        "AIDER_ANALYTICS_DISABLE": "true",
        # Keep aider's history files out of the worktree (they would be landed with the work).
        "AIDER_CHAT_HISTORY_FILE": str(home / "aider.chat.history.md"),  # also its usage log (usage.aider)
        "AIDER_INPUT_HISTORY_FILE": str(home / "aider.input.history"),
        # litellm fetches a model price list from GitHub at start-up: not offline-safe.
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    })
    if bypass:
        # Aider's own "approvals" are its yes/no questions (create file? run command?).
        env["AIDER_YES_ALWAYS"] = "true"


# -- JSON helper --------------------------------------------------------------------------------------
def _update_json(path: Path, mutate) -> None:
    """Read-modify-write a runtime's JSON config atomically, keeping every key we do not set."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = {}
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})", hint="fix or delete the file; Tutti re-seeds it") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object", hint="fix or delete the file; Tutti re-seeds it")
    mutate(data)
    write_json_atomic(path, data, mode=0o600)
