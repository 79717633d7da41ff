"""A demanding new user walks the README: findings of that sweep, each pinned by a test that
failed before its fix (real `tt` subprocesses, real git repositories, an isolated TUTTI_HOME)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def _project(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    root = tmp_path / name
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_second_project_init_names_the_verify_commands_the_existing_rules_block(tt, tmp_path):
    """The first `tt init` writes allow rules for its own workflows; a second project's `tt init`
    kept them silently, and its `tt run verify` was then blocked on the first step. Now it says
    which commands are not allowed and how to allow them, and the next steps say it first."""
    first = _project(tmp_path, "gosvc", {"go.mod": "module example.com/gosvc\n\ngo 1.22\n"})
    assert tt("init", cwd=first).returncode == 0
    second = _project(tmp_path, "pyproj", {"pyproject.toml": "[project]\nname = \"pyproj\"\n"})
    res = tt("init", cwd=second)
    assert res.returncode == 0, res.stderr
    assert "are not allowed by the rules in" in res.stderr
    assert "tt permissions suggest verify --apply" in res.stderr
    steps = res.stdout.split("Next steps:")[1]
    assert steps.index("tt permissions suggest verify --apply") < steps.index("tt run verify")
    blocked = tt("run", "verify", cwd=second)
    assert blocked.returncode == 1 and "blocked by permissions policy" in blocked.stdout + blocked.stderr
    assert tt("permissions", "suggest", "verify", "--apply", cwd=second).returncode == 0
    assert tt("run", "verify", "--strict", cwd=second).returncode == 0


def test_init_json_lists_the_blocked_commands_and_nothing_when_covered(tt, tmp_path):
    first = _project(tmp_path, "one", {"pyproject.toml": "[project]\nname = \"one\"\n"})
    assert tt("init", cwd=first).returncode == 0
    twin = _project(tmp_path, "two", {"pyproject.toml": "[project]\nname = \"two\"\n"})
    res = tt("init", "--json", cwd=twin)
    data = json.loads(res.stdout)
    assert data["permissions"]["blocked_commands"] == []
    assert "not allowed" not in res.stderr
    assert "tt permissions suggest" not in "\n".join(data["next_steps"])


def test_a_command_group_alone_prints_its_help_not_an_error(tt, tmp_path):
    """`tt queue` (or bare `tt`) printed the whole help page as `error[usage]: Usage: …` + a hint."""
    for args in (("queue",), ("approvals",), ()):
        res = tt(*args, cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert res.stdout.startswith("Usage: ") and "Commands:" in res.stdout
        assert "error[" not in res.stderr


def test_health_window_error_names_the_window_flag(tt, git_repo):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "h"\n')
    res = tt("health", "--window", "2x", cwd=git_repo)
    assert res.returncode == 2
    assert res.stderr.splitlines()[0] == "error[usage]: --window '2x': not a duration or date"


def test_profiles_without_any_names_the_global_config_in_use(tt, tmp_path, tutti_home):
    res = tt("profiles", cwd=tmp_path)
    assert res.returncode == 0
    assert f"add [[profile]] to {tutti_home / 'config.toml'}" in res.stdout
