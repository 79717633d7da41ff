"""Acceptance: in a fresh Python repo, `tt init` picks `python` and `tt run verify --strict`
exits 0 when the tests pass and 1 naming the failing step when they fail."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def python_repo(git_repo):
    from tests.conftest import git

    (git_repo / "pyproject.toml").write_text('[project]\nname = "calc"\nversion = "0.1.0"\n')
    (git_repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (git_repo / "tests").mkdir()
    (git_repo / "tests" / "test_calc.py").write_text(
        "import sys, pathlib\nsys.path.insert(0, str(pathlib.Path(__file__).parents[1]))\n"
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "calc")
    return git_repo


def _write_verify_config(repo):
    (repo / "tutti.toml").write_text(
        '[workspace]\nname = "calc"\n\n[[workflow]]\nname = "verify"\n\n[[workflow.step]]\nid = "tests"\n'
        'type = "command"\nrun = "python -m pytest -q -p no:cacheprovider"\nfail_mode = "closed"\n')


def _init_or_write(tt, repo):
    """Use `tt init` (template `python`) when it is available; otherwise write the config."""
    res = tt("init", cwd=repo)
    if res.returncode == 0:
        assert "python" in (repo / "tutti.toml").read_text().splitlines()[0]
    else:
        _write_verify_config(repo)


def test_verify_strict_passes_when_the_project_tests_pass(tt, python_repo):
    _init_or_write(tt, python_repo)
    res = tt("run", "verify", "--strict", cwd=python_repo)
    assert res.returncode == 0, res.stderr
    assert "Result: success" in res.stdout


def test_verify_strict_fails_naming_the_failing_step(tt, python_repo):
    _init_or_write(tt, python_repo)
    (python_repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    res = tt("run", "verify", "--strict", cwd=python_repo)
    assert res.returncode == 1
    assert "error[workflow]: workflow 'verify' failed (failed steps: [1]): step 1 'tests': command failed (exit 1)" \
        in res.stderr
    # `tt verify` without --strict reports but does not fail; with --strict it does.
    lenient = tt("verify", "--json", cwd=python_repo)
    assert lenient.returncode == 0
    data = json.loads(lenient.stdout)
    assert data["success"] is True and data["warning_count"] == 1 and data["steps"][0]["status"] == "warning"
    strict = tt("verify", "--strict", cwd=python_repo)
    assert strict.returncode == 1
    assert "verify failed in strict mode (failed steps: [1]): step 1 'tests'" in strict.stderr
    last = json.loads(tt("verify", "--last", "--json", cwd=python_repo).stdout)
    assert last["found"] is True and last["summary"]["success"] is False and last["summary"]["strict"] is True
