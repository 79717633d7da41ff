"""Runtime name → adapter. Built-ins plus `[[runtime]]` entries of tutti.toml."""

from __future__ import annotations

from tutti.errors import ConfigError
from tutti.runtimes.base import RuntimeAdapter

BUILTINS = ("claude-code", "codex", "aider", "gemini-cli", "openclaw", "fake")
ALIASES = {"claude": "claude-code", "gemini": "gemini-cli"}


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
