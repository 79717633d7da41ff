"""The project's own environment for command steps, never `tt`'s.

`tt` may itself run from a virtualenv (pipx, `pip install` into a venv) that has other versions of
the project's dependencies — or of the project itself — installed. A verify step must test the
checkout with the project's interpreter, so:

* `tt`'s own venv is taken out of `PATH`, and `VIRTUAL_ENV`/`PYTHONHOME`/`PYTHONPATH` entries that
  point into it are dropped (nothing of `sys.prefix` leaks into the child);
* the project's `.venv/` or `venv/` (the first found from the step's directory up to the workspace
  root) goes first on `PATH`, with `VIRTUAL_ENV` set — what `source .venv/bin/activate` does;
* a uv project (`uv.lock`) without such a venv runs its command under `uv run`, which creates and
  syncs the project environment first.

Also here: the line of a failing step's output that names the root cause, and what pytest's exit
codes mean, so a failure message says *why* without opening the log.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

VENV_DIRS = (".venv", "venv")


@dataclass
class ProjectEnv:
    kind: str  # "venv" | "uv" | "system"
    root: Path | None = None  # the directory whose environment is used
    venv: Path | None = None

    def describe(self) -> str:
        if self.kind == "venv":
            return f"the project's virtualenv {self.venv}"
        if self.kind == "uv":
            return f"`uv run` in {self.root} (uv project)"
        return "the PATH's interpreter (no project virtualenv found)"


def _is_venv(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "pyvenv.cfg")) and os.path.isdir(os.path.join(path, "bin"))


@functools.lru_cache(maxsize=256)
def _real(path: str) -> str:
    """realpath, remembered: it costs an lstat per path component and runs for every command
    step (a directory turning into a symlink in the middle of a run is not a case to serve)."""
    return os.path.realpath(path)


def detect(cwd: Path, workspace_root: Path) -> ProjectEnv:
    """The environment a command in `cwd` should run with (search stops at the workspace root).
    Looked up for every step, not once per run: an earlier step may create the venv."""
    here, top = _real(str(cwd)), _real(str(workspace_root))
    while True:
        for name in VENV_DIRS:
            if _is_venv(os.path.join(here, name)):
                return ProjectEnv("venv", Path(here), Path(here, name))
        if os.path.isfile(os.path.join(here, "uv.lock")) and shutil.which("uv"):
            return ProjectEnv("uv", Path(here))
        parent = os.path.dirname(here)
        if here == top or parent == here or not (top == parent or parent.startswith(top + os.sep)):
            return ProjectEnv("system")
        here = parent


@functools.lru_cache(maxsize=1)
def _own_prefixes() -> tuple[str, ...]:
    """`tt`'s own environment, when it runs from a virtualenv (never the system interpreter)."""
    if sys.prefix == sys.base_prefix:
        return ()
    return (os.path.realpath(sys.prefix),)


def _inside(path: str, prefixes: tuple[str, ...]) -> bool:
    real = _real(path) if path else ""
    return any(real == p or real.startswith(p + os.sep) for p in prefixes)


@functools.lru_cache(maxsize=64)
def _without_own(value: str, prefixes: tuple[str, ...]) -> str:
    """A PATH-like value without the entries inside tt's own environment (same value every step)."""
    return os.pathsep.join(p for p in value.split(os.pathsep) if p and not _inside(p, prefixes))


def environment(env: dict[str, str], project: ProjectEnv) -> dict[str, str]:
    """`env` with `tt`'s interpreter removed and the project's put first."""
    env = dict(env)
    own = _own_prefixes()
    if own:
        env["PATH"] = _without_own(env.get("PATH", ""), own)
        if _inside(env.get("VIRTUAL_ENV", ""), own):
            env.pop("VIRTUAL_ENV")
        kept = _without_own(env.get("PYTHONPATH", ""), own)
        if kept:
            env["PYTHONPATH"] = kept
        else:
            env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)  # only ever right for the interpreter that set it
    if project.kind == "venv" and project.venv is not None:
        env["VIRTUAL_ENV"] = str(project.venv)
        env["PATH"] = os.pathsep.join([str(project.venv / "bin"), env.get("PATH", "")]).rstrip(os.pathsep)
    elif project.kind == "uv":
        env.pop("VIRTUAL_ENV", None)  # uv would warn that it does not match the project's
    return env


def command(run: str, project: ProjectEnv) -> str:
    """The shell command to execute: `run` itself, or wrapped in `uv run` for a uv project."""
    if project.kind != "uv":
        return run
    return f"uv run --quiet -- sh -c {shlex.quote(run)}"


def prepare(run: str, cwd: Path, workspace_root: Path, env: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The command-step hook: (command to execute, environment) for `run` in `cwd`."""
    project = detect(cwd, workspace_root)
    return command(run, project), environment(env, project)


# -- explaining failures ------------------------------------------------------------------------
_ROOT_CAUSE = [
    re.compile(r"\b(ModuleNotFoundError|ImportError): .+"),
    re.compile(r": No module named \S+"),  # `python -m nosuchmod`: `/path/to/python: No module named nosuchmod`
    re.compile(r"^(fatal|warning|error): [Nn]ot a git repository\b"),
    re.compile(r"^E\s+\w+(Error|Exception): .+"),
    re.compile(r"^\w+(Error|Exception): .+"),
    re.compile(r"^(sh|bash|/bin/sh|zsh): .*(not found|No such file or directory|[Pp]ermission denied)"),
    re.compile(r"^(error|ERROR)(\[[A-Z0-9]+\])?: .+"),
    re.compile(r"^\S+:\d+(:\d+)?: (error|[A-Z]+\d+)\b.*"),  # ruff / flake8 / mypy / tsc-style locations
    re.compile(r"^npm ERR! .+"),
    re.compile(r"^--- FAIL: .+"),
    re.compile(r"^FAIL\b.+"),
    # last: generic OS errors, which a test runner's output also contains as mere context
    re.compile(r": [Pp]ermission denied\b"),
    re.compile(r": No such file or directory\b|\bcan't open file\b|\bcannot (access|open|stat)\b"),
]

# What to do about a cause line of a well-known class (appended after it).
_CAUSE_FIX = [
    (re.compile(r"[Nn]ot a git repository"),
     "the step needs a git repository: run `git init` (and commit once) in the workspace, or remove the git step"),
    (re.compile(r"[Pp]ermission denied"), "check the path's permissions (a script needs `chmod +x`)"),
]

PYTEST_EXIT = {
    2: "pytest was interrupted (a collection error or Ctrl-C): see the first error in the log",
    3: "pytest hit an internal error",
    4: "pytest was given bad arguments",
    5: "pytest collected no tests (exit 5): add tests, point pytest at them (testpaths), or remove the pytest step",
}


_RULE_CODE = re.compile(r"^[A-Z]{1,4}\d{3,4} .+")  # ruff's full format: `I001 [*] message` then `--> file:l:c`
_ARROW = re.compile(r"^\s*-->\s*(\S+:\d+(:\d+)?)")


def root_cause(output: str) -> str | None:
    """The most telling line of a failing command's output (first match, by priority)."""
    lines = [ln.rstrip() for ln in output.splitlines() if ln.strip()]
    for here, after in zip(lines, lines[1:]):
        arrow = _ARROW.match(after)
        if arrow and _RULE_CODE.match(here.strip()):
            return f"{arrow.group(1)}: {here.strip()}"[:200]
    for pattern in _ROOT_CAUSE:
        for line in lines:
            if pattern.search(line.strip()):
                text = line.strip()
                return text if len(text) <= 200 else text[:197] + "..."
    return None


def explain_exit(run: str, exit_code: int | None) -> str | None:
    """What a well-known tool's exit code means (pytest's 5 = no tests ran)."""
    if exit_code is None:
        return None
    if "pytest" in run and exit_code in PYTEST_EXIT:
        return PYTEST_EXIT[exit_code]
    if exit_code == 127:
        return "exit 127: the command was not found on PATH (is the tool installed in the project's environment?)"
    return None


def interpreter_note(run: str, cause: str | None, path: str | None) -> str | None:
    """`interpreter: /abs/python` for a module-not-found cause of a `python …` command, unless the
    cause line names it already (`python -m x` does): the usual fix is the other interpreter/venv."""
    if not cause or "No module named" not in cause:
        return None
    try:
        first = shlex.split(run)[0]
    except (ValueError, IndexError):
        return None
    if not re.fullmatch(r"python[\d.]*", Path(first).name):
        return None
    found = shutil.which(first, path=path)
    if found is None or found in cause:
        return None
    return f"interpreter: {found} (is the module installed in that environment?)"


def failure_detail(run: str, exit_code: int | None, output: str, log_path: Path | None = None,
                   path: str | None = None) -> str:
    """` — <explanation>` / ` — <root-cause line>` (+ its fix) to append to a failed step's message,
    or ''. The log's last 64 KiB are searched too: the cause often scrolled out of the short tail.
    `path` is the step's PATH, to name the interpreter a module was missing from."""
    text = output
    if log_path is not None:
        try:
            with open(log_path, "rb") as fh:
                fh.seek(max(0, fh.seek(0, os.SEEK_END) - (64 << 10)))
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            pass
    cause = root_cause(text)
    fix = next((f for pattern, f in _CAUSE_FIX if cause and pattern.search(cause)), None)
    parts = [p for p in (explain_exit(run, exit_code), cause, fix, interpreter_note(run, cause, path)) if p]
    return "".join(f" — {p}" for p in parts)
