"""Fixtures for engine tests: a real git repo with a tutti.toml written by the test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def make_ws(git_repo: Path) -> Callable[[str], object]:
    """`make_ws(toml_body)` writes tutti.toml (with a [workspace] header) and loads it."""

    def _make(body: str, name: str = "demo"):
        from tutti.workspace import load_workspace_at

        (git_repo / "tutti.toml").write_text(f'[workspace]\nname = "{name}"\n\n{body}', encoding="utf-8")
        return load_workspace_at(git_repo)

    return _make
