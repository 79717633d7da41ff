"""What a Python repository already uses for checks, so the `python` template's verify
workflow runs the same tools (pytest always; ruff, else flake8; mypy) and nothing it lacks."""

from __future__ import annotations

import configparser
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PythonTooling:
    ruff: str | None = None  # where it is configured, e.g. "pyproject.toml [tool.ruff]"
    flake8: str | None = None
    mypy: str | None = None
    mypy_files_configured: bool = False
    xdist: bool = False  # pytest-xdist is among the project's declared dependencies
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"ruff": self.ruff, "flake8": self.flake8, "mypy": self.mypy, "xdist": self.xdist}


def detect_tooling(root: Path) -> PythonTooling:
    tooling = PythonTooling()
    tool = _pyproject_tool_table(root / "pyproject.toml")
    ini_sections = _ini_sections(root)

    for name in ("ruff.toml", ".ruff.toml"):
        if (root / name).is_file():
            tooling.ruff = name
    if "ruff" in tool:
        tooling.ruff = "pyproject.toml [tool.ruff]"

    if (root / ".flake8").is_file():
        tooling.flake8 = ".flake8"
    elif "flake8" in tool:
        tooling.flake8 = "pyproject.toml [tool.flake8]"
    elif "flake8" in ini_sections:
        tooling.flake8 = f"{ini_sections['flake8']} [flake8]"

    mypy_table = tool.get("mypy")
    if isinstance(mypy_table, dict):
        tooling.mypy = "pyproject.toml [tool.mypy]"
        tooling.mypy_files_configured = "files" in mypy_table
    else:
        for name in ("mypy.ini", ".mypy.ini"):
            if (root / name).is_file():
                tooling.mypy = name
                tooling.mypy_files_configured = _ini_has(root / name, "mypy", "files")
        if tooling.mypy is None and "mypy" in ini_sections:
            tooling.mypy = f"{ini_sections['mypy']} [mypy]"
            tooling.mypy_files_configured = _ini_has(root / ini_sections["mypy"], "mypy", "files")
    tooling.xdist = any(_requirement_name(req) == "pytest-xdist" for req in _declared_requirements(root))
    return tooling


def _declared_requirements(root: Path) -> list[str]:
    """Requirement strings from pyproject.toml (project deps, extras, dependency groups, Poetry)
    and requirements*.txt."""
    reqs: list[str] = []
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        data = {}
    project = data.get("project", {}) if isinstance(data.get("project"), dict) else {}
    reqs += [r for r in project.get("dependencies", []) if isinstance(r, str)]
    for group in (project.get("optional-dependencies") or {}, data.get("dependency-groups") or {}):
        if isinstance(group, dict):
            for items in group.values():
                reqs += [r for r in items if isinstance(r, str)] if isinstance(items, list) else []
    poetry = data.get("tool", {}).get("poetry", {}) if isinstance(data.get("tool"), dict) else {}
    for key in ("dependencies", "dev-dependencies"):
        reqs += list((poetry.get(key) or {}).keys()) if isinstance(poetry.get(key), dict) else []
    for group in (poetry.get("group") or {}).values() if isinstance(poetry.get("group"), dict) else []:
        reqs += list((group.get("dependencies") or {}).keys()) if isinstance(group, dict) else []
    for path in root.glob("requirements*.txt"):
        try:
            reqs += [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        except (OSError, UnicodeDecodeError):
            pass
    return reqs


def _requirement_name(req: str) -> str:
    name = req.split(";")[0].strip()
    for stop in "[<>=!~ (":
        name = name.split(stop)[0]
    return name.strip().lower().replace("_", "-")


def has_tests(root: Path) -> bool:
    """Whether there is anything for pytest to collect (a python project without tests gets no
    pytest step: pytest would exit 5, "no tests ran", and fail verify)."""
    skip = {".git", ".venv", "venv", "node_modules", ".tutti", ".tox", "build", "dist", "site-packages"}
    stack, seen = [root], 0
    while stack and seen < 5000:  # bounded: a huge tree is not scanned to the last file
        folder = stack.pop()
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            seen += 1
            name = entry.name
            if entry.is_dir():
                if name not in skip and not name.startswith("."):
                    stack.append(entry)
            elif name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
                return True
    return False


def verify_steps_toml(root: Path) -> str:
    """The `[[workflow.step]]` tables of the python template's verify workflow."""
    tooling = detect_tooling(root)
    python = "python" if shutil.which("python") else "python3"
    steps = []
    if has_tests(root):
        # A project that declares pytest-xdist runs its suite in parallel; so does its verify.
        steps.append(("tests", f"{python} -m pytest -q" + (" -n auto" if tooling.xdist else ""), 900))
    if tooling.ruff:
        steps.append(("lint", "ruff check .", 300))
    elif tooling.flake8:
        steps.append(("lint", f"{python} -m flake8", 300))
    if tooling.mypy:
        target = "" if tooling.mypy_files_configured else " ."
        steps.append(("types", f"{python} -m mypy{target}", 600))
    if not steps:
        # No tests and no linters: at least every module must compile (and verify exists).
        steps.append(("compile", f"{python} -m compileall -q -x '(^|/)(\\.venv|venv|\\.git|\\.tutti|node_modules)/' .", 300))
    from tutti.config.project_checks import step_toml

    return "\n".join(step_toml(sid, run, secs) for sid, run, secs in steps)


def _pyproject_tool_table(path: Path) -> dict:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    tool = data.get("tool")
    return tool if isinstance(tool, dict) else {}


def _ini_sections(root: Path) -> dict[str, str]:
    """section name -> the file (setup.cfg / tox.ini) that declares it."""
    found: dict[str, str] = {}
    for name in ("setup.cfg", "tox.ini"):
        parser = _read_ini(root / name)
        if parser is None:
            continue
        for section in ("flake8", "mypy"):
            if parser.has_section(section):
                found.setdefault(section, name)
    return found


def _ini_has(path: Path, section: str, key: str) -> bool:
    parser = _read_ini(path)
    return bool(parser and parser.has_option(section, key))


def _read_ini(path: Path) -> configparser.ConfigParser | None:
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    return parser
