"""Runtime name → adapter. Built-ins plus `[[runtime]]` entries of tutti.toml; and which adapter
an agent of a workspace uses (`adapter_for`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tutti.config.runtime_names import RUNTIME_ALIASES
from tutti.errors import ConfigError
from tutti.runtimes.base import RuntimeAdapter

if TYPE_CHECKING:
    from tutti.workspace import Workspace

BUILTINS = ("claude-code", "codex", "aider", "gemini-cli", "openclaw", "fake")
ALIASES = RUNTIME_ALIASES


def _builtin(name: str) -> RuntimeAdapter:
    if name == "claude-code":
        from tutti.runtimes.claude_code import ClaudeCodeAdapter
        return ClaudeCodeAdapter()
    if name == "codex":
        from tutti.runtimes.codex import CodexAdapter
        return CodexAdapter()
    if name == "aider":
        from tutti.runtimes.aider import AiderAdapter
        return AiderAdapter()
    if name == "gemini-cli":
        from tutti.runtimes.gemini_cli import GeminiCliAdapter
        return GeminiCliAdapter()
    if name == "openclaw":
        from tutti.runtimes.openclaw import OpenClawAdapter
        return OpenClawAdapter()
    from tutti.runtimes.fake import FakeAdapter
    if name == "fake":
        return FakeAdapter()
    return FakeAdapter(name.split(":", 1)[1])  # "fake:codex" picks the look explicitly


def get_adapter(runtime: str, config=None) -> RuntimeAdapter:
    """The adapter for a runtime name; `[[runtime]]` entries in `config` take precedence."""
    if config is not None:
        for rt in getattr(config, "runtimes", None) or []:
            if rt.name == runtime:
                from tutti.runtimes.custom import CustomAdapter
                return CustomAdapter(rt)
    name = ALIASES.get(runtime, runtime)
    if name in BUILTINS or name.startswith("fake:"):
        return _builtin(name)
    custom = [rt.name for rt in (getattr(config, "runtimes", None) or [])] if config is not None else []
    known = ", ".join([*BUILTINS, *custom])
    raise ConfigError(f"unknown runtime '{runtime}'",
                      hint=f"use one of: {known}; or declare it with a [[runtime]] table in tutti.toml")


def runtime_names(config=None) -> list[str]:
    custom = [rt.name for rt in (getattr(config, "runtimes", None) or [])] if config is not None else []
    return [*BUILTINS, *custom]


def adapter_for(ws: Workspace, agent: str) -> RuntimeAdapter:
    """The runtime adapter of an agent (explicit runtime > role > [defaults])."""
    from tutti.errors import NotFoundError

    cfg = ws.config.agent(agent)
    if cfg is None:
        raise NotFoundError(f"agent '{agent}' not found in config", hint=f"agents: {', '.join(a.name for a in ws.config.agents) or '(none)'}")
    runtime = ws.config.resolved_runtime(cfg)
    if not runtime and getattr(cfg, "provider", None):
        from tutti.errors import UsageError

        raise UsageError(f"agent '{agent}' is an API-direct agent (provider '{cfg.provider}'): it has no terminal "
                         "session", hint=f'tt send {agent} --direct "…" runs its turn through the model\'s API')
    if not runtime:
        raise ConfigError(f"{ws.config_path}: agent '{agent}' has no runtime (set runtime on agent or in [defaults])",
                          hint="add runtime = \"claude-code\" (or another runtime) to the [[agent]] table")
    # Structured state first (Claude's state file, Codex's rollout, Gemini's telemetry), merged
    # with the screen rules on every classify() — see tutti.runtimes.signals.
    from tutti.runtimes.signals import with_structured_signals

    return with_structured_signals(ws, agent, get_adapter(runtime, ws.config))
