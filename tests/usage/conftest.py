from __future__ import annotations

from pathlib import Path

import pytest

from shared_fixtures import FIXTURES

LOGS = FIXTURES / "logs"

CONFIG = """
[workspace]
name = "usage-demo"

[[agent]]
name = "claude"
runtime = "claude-code"

[[agent]]
name = "codex"
runtime = "codex"

[[agent]]
name = "gemini"
runtime = "gemini-cli"

[[agent]]
name = "shared"
runtime = "claude-code"
share_home = true
"""


@pytest.fixture
def usage_ws(git_repo: Path):
    """A workspace with four agents; returns a loader so tests can reload after edits."""
    (git_repo / "tutti.toml").write_text(CONFIG)
    from tutti.workspace import load_workspace_at

    return load_workspace_at(git_repo)


@pytest.fixture
def fixture_log():
    return read_fixture_log


def read_fixture_log(name: str, cwd: Path | None = None) -> str:
    """A fixture log, with the scrubbed `<scratch>/…` cwd replaced by a real path."""
    text = (LOGS / name).read_text()
    if cwd is not None:
        for scrubbed in ("<scratch>/work/claude", "<scratch>/final/codex", "<scratch>/work/gemini2"):
            text = text.replace(scrubbed, str(cwd))
    return text
