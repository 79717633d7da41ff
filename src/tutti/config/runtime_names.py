"""Runtime names the config validator accepts besides the built-ins (`models.BUILTIN_RUNTIMES`)
and `[[runtime]]` tables: aliases and the fake agent's looks. Config sits below `runtimes/`, so
the names live here and `runtimes.registry` / `runtimes.fake` must agree with them (a test in
tests/architecture checks that they do)."""

from __future__ import annotations

RUNTIME_ALIASES = {"claude": "claude-code", "gemini": "gemini-cli"}
FAKE_LOOKS = ("claude", "codex", "gemini", "aider")  # `fake:codex` etc.
