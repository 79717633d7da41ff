"""Helpers for config tests: write a tutti.toml and load it through the real loader."""

from __future__ import annotations

import pytest

from shared_fixtures import FIXTURES as SHARED_FIXTURES

FIXTURES = SHARED_FIXTURES / "configs"

BASE = """\
[workspace]
name = "demo"

[[agent]]
name = "a"
runtime = "claude-code"

[[agent]]
name = "b"
runtime = "codex"
"""


@pytest.fixture
def load_text(tmp_path):
    """load_text(toml) -> LoadedConfig, loading tmp_path/tutti.toml from disk."""
    from tutti.config.load import load_config

    def _load(text: str):
        path = tmp_path / "tutti.toml"
        path.write_text(text, encoding="utf-8")
        return load_config(path)

    return _load
