"""Issue #11: command steps run in the project's environment (its .venv first on PATH, VIRTUAL_ENV
set), never `tt`'s own interpreter; a failing step's message names the root cause; pytest's
"no tests ran" is explained. Real venvs, real `tt` processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

VERIFY = """
[workspace]
name = "envcheck"

[[workflow]]
name = "verify"

[[workflow.step]]
id = "where"
type = "command"
run = '''{run}'''
fail_mode = "closed"
"""


def _venv(path: Path, *extra: str) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", *extra, str(path)], check=True)
    return path


def _write(repo: Path, run: str) -> None:
    (repo / "tutti.toml").write_text(VERIFY.format(run=run))


PROBE = """python -c "import os, sys; print(sys.prefix); print(os.environ.get('VIRTUAL_ENV', '-'))" > probe.txt"""


def test_command_step_uses_the_projects_venv(tt, git_repo):
    venv = _venv(git_repo / ".venv")
    _write(git_repo, PROBE)
    res = tt("run", "verify", cwd=git_repo)
    assert res.returncode == 0, res.stdout + res.stderr
    prefix, virtual_env = (git_repo / "probe.txt").read_text().split()
    assert Path(prefix).resolve() == venv.resolve()
    assert Path(virtual_env).resolve() == venv.resolve()


def test_tts_own_venv_does_not_leak_into_the_step(tt, git_repo, tmp_path):
    # tt itself runs from a virtualenv (like a pipx install) whose bin is first on PATH
    own = _venv(tmp_path / "tt-venv", "--system-site-packages")
    _write(git_repo, PROBE)
    env = dict(os.environ, PATH=f"{own / 'bin'}{os.pathsep}{os.environ['PATH']}", VIRTUAL_ENV=str(own),
               PYTHONPATH=str(own / "lib"))
    proc = subprocess.run([str(own / "bin" / "python"), "-m", "tutti", "run", "verify"], cwd=git_repo, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    prefix, virtual_env = (git_repo / "probe.txt").read_text().split()
    assert Path(prefix).resolve() != own.resolve()
    assert virtual_env == "-"


def test_failing_step_message_names_the_root_cause(tt, git_repo):
    (git_repo / "tests").mkdir()
    (git_repo / "tests" / "test_x.py").write_text("import not_installed_anywhere\n\ndef test_x():\n    pass\n")
    _write(git_repo, f"{sys.executable} -m pytest -q -p no:cacheprovider tests")
    res = tt("run", "verify", "--json", cwd=git_repo)
    assert res.returncode == 1
    step = json.loads(res.stdout)["steps"][0]
    assert "ModuleNotFoundError: No module named 'not_installed_anywhere'" in step["message"]
    human = tt("run", "verify", cwd=git_repo)
    assert "ModuleNotFoundError" in human.stderr  # shown with the failure, not only in the log


def test_pytest_no_tests_ran_is_explained(tt, git_repo):
    (git_repo / "tests").mkdir()
    _write(git_repo, f"{sys.executable} -m pytest -q -p no:cacheprovider tests")
    res = tt("run", "verify", "--json", cwd=git_repo)
    step = json.loads(res.stdout)["steps"][0]
    assert "exit 5" in step["message"] and "collected no tests" in step["message"]


@pytest.mark.parametrize("output, cause", [
    ("collected 0 items / 1 error\nE   ModuleNotFoundError: No module named 'x'\n1 error in 0.1s", "E   ModuleNotFoundError: No module named 'x'"),
    ("sh: 1: cargo: not found\nsh: 1: nosuch: command not found", "sh: 1: cargo: not found"),
    ("npm ERR! Missing script: \"test\"", "npm ERR! Missing script: \"test\""),
    ("--- FAIL: TestAdd (0.00s)\nFAIL\tdemo\t0.1s", "--- FAIL: TestAdd (0.00s)"),
    ("src/a.py:30:5: I001 [*] Import block is un-sorted\nFound 1 error.", "src/a.py:30:5: I001 [*] Import block is un-sorted"),
    ("pkg/m.py:12: error: Incompatible types\nFound 1 error in 1 file", "pkg/m.py:12: error: Incompatible types"),
    ("I001 [*] Import block is un-sorted or un-formatted\n   --> src/t/otlp.py:170:9\n    |\n170 |  from x import y",
     "src/t/otlp.py:170:9: I001 [*] Import block is un-sorted or un-formatted"),
])
def test_root_cause_line_is_picked_from_real_tool_output(output, cause):
    from tutti.workflows.project_env import root_cause

    assert root_cause(output) == cause.strip()


def test_uv_project_without_a_venv_runs_its_command_under_uv_run(tt, git_repo, tmp_path):
    # uv is not installed on this machine: a stand-in `uv` on PATH records its argv and runs the
    # command after `--`, so what is checked is the wiring (detection + argv), not uv itself.
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "uv").write_text('#!/bin/sh\necho "$@" >> "$UV_LOG"\nwhile [ "$1" != "--" ]; do shift; done\nshift\nexec "$@"\n')
    (shims / "uv").chmod(0o755)
    (git_repo / "uv.lock").write_text("version = 1\n")
    _write(git_repo, "echo ran > out.txt")
    log = tmp_path / "uv.log"
    res = tt("run", "verify", cwd=git_repo, env={"PATH": f"{shims}{os.pathsep}{os.environ['PATH']}", "UV_LOG": str(log)})
    assert res.returncode == 0, res.stdout + res.stderr
    assert log.read_text().strip() == "run --quiet -- sh -c echo ran > out.txt"
    assert (git_repo / "out.txt").read_text().strip() == "ran"
    # with a .venv present the venv wins and uv is not involved
    _venv(git_repo / ".venv")
    log.unlink()
    assert tt("run", "verify", cwd=git_repo, env={"PATH": f"{shims}{os.pathsep}{os.environ['PATH']}",
                                                   "UV_LOG": str(log)}).returncode == 0
    assert not log.exists()
