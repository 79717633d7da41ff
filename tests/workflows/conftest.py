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


@pytest.fixture
def plugin_executor(monkeypatch, tmp_path) -> Callable[[str, str, str], None]:
    """`plugin_executor(step_type, module, source)`: serve `step_type` with an executor module
    written from `source` (dedented), the way a third-party plug-in would; undone at teardown."""
    import sys
    import textwrap

    from tutti.workflows import steps

    plugins = tmp_path / "plugins"

    def _install(step_type: str, module: str, source: str) -> None:
        plugins.mkdir(exist_ok=True)
        (plugins / f"{module}.py").write_text(textwrap.dedent(source))
        monkeypatch.syspath_prepend(str(plugins))
        monkeypatch.setitem(steps.EXECUTOR_MODULES, step_type, module)
        sys.modules.pop(module, None)  # a module of this name imported by an earlier test is stale

    return _install
