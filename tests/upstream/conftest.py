"""Helpers of the upstream port: write a workspace / global config, load a tutti.toml through the
real loader, and run `tt` as a user does (the root conftest's `tt` fixture)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

WS = """\
[workspace]
name = "test"

[[agent]]
name = "backend"
runtime = "claude-code"
"""


@pytest.fixture
def load_toml(tmp_path):
    """load_toml(text) -> LoadedConfig (raises the loader's ConfigValidationError)."""
    from tutti.config.load import load_config

    def _load(text: str):
        path = tmp_path / "cfg" / "tutti.toml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return load_config(path)

    return _load


@pytest.fixture
def config_error(load_toml):
    """config_error(text) -> the rendered message of the first validation problem."""
    from tutti.errors import TuttiError

    def _err(text: str) -> str:
        with pytest.raises(TuttiError) as info:
            load_toml(text)
        return str(info.value)

    return _err


@pytest.fixture
def global_config(tutti_home):
    """global_config(text): write the global config.toml (TUTTI_HOME is per test)."""

    def _write(text: str) -> Path:
        path = Path(tutti_home) / "config.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def ws(git_repo):
    """ws(toml) -> a real git repo holding that tutti.toml (committed, so the tree is clean)."""
    from tests.conftest import git

    def _make(text: str) -> Path:
        (git_repo / "tutti.toml").write_text(text, encoding="utf-8")
        (git_repo / ".gitignore").write_text(".tutti/\n", encoding="utf-8")
        git(git_repo, "add", "-A")
        git(git_repo, "commit", "-q", "-m", "tutti.toml")
        return git_repo

    return _make


@pytest.fixture
def tt_json(tt):
    """tt_json(*args, cwd=...) -> (returncode, parsed stdout JSON or None, stderr)."""

    def _run(*args: str, cwd: Path | None = None, **kw):
        res = tt(*args, "--json", cwd=cwd, **kw)
        try:
            data = json.loads(res.stdout) if res.stdout.strip() else None
        except json.JSONDecodeError:
            data = None
        return res.returncode, data, res.stderr + ("" if data is not None else res.stdout)

    return _run


def jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def env_without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}

