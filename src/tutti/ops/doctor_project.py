"""`tt doctor`'s project checks: can the verify workflow run here, in the project's environment?

* every program a `verify` command step starts exists on the PATH the step will get (the
  project's venv first — `workflows/project_env.py`), and `python -m X` modules are importable;
* a Python project imports *from the checkout*: `import pkg` in the project's interpreter
  resolves inside the workspace (not to another copy installed in some site-packages — then the
  tests would test that copy), or fails with the error the tests would hit.
"""

from __future__ import annotations

import re
import shlex
import shutil
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from tutti import proc

if TYPE_CHECKING:
    from tutti.ops.doctor import DoctorReport
    from tutti.workspace import Workspace

_WRAPPERS = ("env", "sudo", "nohup", "time", "nice", "exec", "command", "timeout")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def check_project(report: DoctorReport, ws: Workspace) -> None:
    import os

    from tutti.workflows.project_env import detect, environment

    wf = ws.config.workflow("verify")
    if wf is None:
        # Informational, not a warning: a config written for the original (whose doctor had no
        # such check) must keep passing `tt doctor --strict`, as in its own CI smoke job.
        report.add("verify", "pass", "no `verify` workflow (optional): `tt run verify` has nothing to run",
                   'add [[workflow]] name = "verify" with a command step running your tests (or re-run `tt init --force`)')
        return
    project = detect(ws.root, ws.root)
    env = environment(dict(os.environ), project)
    missing: list[str] = []
    for step in wf.steps:
        if step.type == "command" and step.cwd == "workspace" and step.subdir is None:
            missing += _missing_programs(step.run, ws.root, env)
    if missing:
        report.add("verify/commands", "fail", f"verify needs {', '.join(dict.fromkeys(missing))}, not found in "
                                              f"{project.describe()}",
                   "install them into the project's environment, or fix the verify steps in tutti.toml")
    else:
        report.add("verify/commands", "pass", f"every verify command is available ({project.describe()})")
    _check_imports(report, ws, env)


def _programs(run: str) -> list[list[str]]:
    from tutti.policy.commandline import UnparseableCommand, split_commands

    try:
        parts = split_commands(run)
    except UnparseableCommand:
        return []
    out = []
    for part in parts:
        try:
            words = shlex.split(part)
        except ValueError:
            continue
        while words and (words[0] in _WRAPPERS or "=" in words[0]):
            words = words[1:]
            while words and (words[0].startswith("-") or "=" in words[0] or words[0].isdigit()):
                words = words[1:]
        if words:
            out.append(words)
    return out


def _missing_programs(run: str, cwd: Path, env: dict[str, str]) -> list[str]:
    missing = []
    for words in _programs(run):
        program = words[0]
        found = shutil.which(program, path=env.get("PATH")) or (("/" in program) and (cwd / program).exists())
        if not found:
            missing.append(program)
        elif re.match(r"^python(\d(\.\d+)?)?$", Path(program).name) and words[1:2] == ["-m"] and len(words) > 2:
            module = words[2]
            probe = proc.run([program, "-c", f"import importlib.util as u, sys; sys.exit(u.find_spec({module!r}) is None)"],
                             cwd=cwd, env=env, timeout=30)
            if not probe.ok:
                missing.append(f"{program} -m {module} (module '{module}' is not installed)")
    return missing


def python_packages(root: Path) -> list[str]:
    """Top-level import names of the project in `root` (src layout or flat), best effort."""
    names = []
    for base in (root / "src", root):
        try:
            entries = sorted(base.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir() and (entry / "__init__.py").is_file() and entry.name not in ("tests", "test", "docs"):
                names.append(entry.name)
        if names:
            return names[:3]
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        project = {}
    name = str(project.get("name", "")).replace("-", "_") if isinstance(project, dict) else ""
    return [name] if name and _NAME.match(name) and (root / f"{name}.py").is_file() else []


def _check_imports(report: DoctorReport, ws: Workspace, env: dict[str, str]) -> None:
    if not any((ws.root / m).exists() for m in ("pyproject.toml", "setup.py", "setup.cfg")):
        return
    python = shutil.which("python", path=env.get("PATH")) or shutil.which("python3", path=env.get("PATH"))
    if python is None:
        return
    for package in python_packages(ws.root):
        res = proc.run([python, "-c", f"import {package}; print({package}.__file__)"], cwd=ws.root, env=env, timeout=60)
        where = res.stdout.strip().splitlines()[-1] if res.ok and res.stdout.strip() else ""
        if not res.ok:
            last = [ln for ln in res.stderr.splitlines() if ln.strip()][-1:] or ["import failed"]
            report.add(f"project/import {package}", "fail", f"`import {package}` fails in {python}: {last[0]}",
                       "install the project into its environment, e.g. python -m venv .venv && .venv/bin/pip install -e .")
        elif not Path(where).resolve().is_relative_to(ws.root.resolve()):
            report.add(f"project/import {package}", "fail",
                       f"`import {package}` resolves to {where}, not to this checkout: the tests would test that copy",
                       "create the project's venv and install the checkout into it: "
                       "python -m venv .venv && .venv/bin/pip install -e .")
        else:
            report.add(f"project/import {package}", "pass", f"`import {package}` resolves to the checkout ({where})")
