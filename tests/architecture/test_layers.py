"""The package's shape stays true: the import contracts of pyproject.toml (`[tool.importlinter]`:
the layers of README's "Architecture" section, no cycles between top-level packages) are kept,
no module-level import cycle exists — and the checkers really fail on an upward import or a
cycle (shown on a temporary copy of the package, never on the real source)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "tutti"
PYPROJECT = REPO / "pyproject.toml"

pytest.importorskip("importlinter", reason="the test extra (import-linter) is not installed")


def lint_imports(config: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    """`lint-imports` in a child process (so a temporary copy can shadow the installed package)."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), str(REPO)])
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))")
    return subprocess.run([sys.executable, "-c", code, str(config)], capture_output=True, text=True, env=env,
                          cwd=config.parent, timeout=120)


def cycles_of(pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*([str(pythonpath)] if pythonpath else []), str(REPO)])
    return subprocess.run([sys.executable, "-m", "tests.architecture.cycles", "tutti"], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=120)


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory) -> Path:
    """A copy of src/tutti plus the repo's import contracts, to break on purpose."""
    root = tmp_path_factory.mktemp("shape")
    shutil.copytree(SRC, root / "src" / "tutti", ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(PYPROJECT, root / "pyproject.toml")
    return root


def test_import_contracts_are_kept():
    res = lint_imports(PYPROJECT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


def test_no_module_level_import_cycles():
    res = cycles_of()
    assert res.returncode == 0, "import cycles:\n" + res.stdout + res.stderr


def _break(copy: Path, module: str, line: str) -> Path:
    path = copy / "src" / Path(*module.split(".")).with_suffix(".py")
    original = path.read_text()
    path.write_text(original + f"\n{line}\n")
    return path


def test_the_layer_contract_fails_on_an_upward_import(package_copy):
    # sessions is the leaf under ops: a session module reaching up into ops must be reported.
    path = _break(package_copy, "tutti.sessions.naming", "from tutti.ops import agents  # upward, on purpose")
    try:
        res = lint_imports(package_copy / "pyproject.toml", package_copy / "src")
    finally:
        path.write_text(path.read_text().replace("\nfrom tutti.ops import agents  # upward, on purpose\n", ""))
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "BROKEN" in out
    assert "tutti.sessions.naming -> tutti.ops.agents" in out


def test_the_cycle_check_fails_on_a_module_cycle(package_copy):
    # paths is imported by config; config importing back is a module cycle (and an upward import).
    path = _break(package_copy, "tutti.paths", "import tutti.config.keypath  # a cycle, on purpose")
    _break(package_copy, "tutti.config.keypath", "import tutti.paths  # a cycle, on purpose")
    try:
        res = cycles_of(package_copy / "src")
        lint = lint_imports(package_copy / "pyproject.toml", package_copy / "src")
    finally:
        for p in (path, package_copy / "src" / "tutti" / "config" / "keypath.py"):
            p.write_text("\n".join(x for x in p.read_text().split("\n") if "on purpose" not in x))
    assert res.returncode == 1, res.stdout + res.stderr
    assert "tutti.config.keypath <-> tutti.paths" in res.stdout
    assert lint.returncode != 0 and "tutti.paths -> tutti.config.keypath" in lint.stdout
