"""The built-in tools of API-direct agents, confined to the agent's root directory.

Every path argument is resolved (symlinks included) and must stay inside the root: `../x`,
absolute paths elsewhere and symlinks pointing out are refused with a clear tool error. The
shell tool runs argv `/bin/sh -c CMD` through `tutti.proc` (drained pipes, timeout, process-
group kill) in the root, with the provider API keys removed from its environment.
"""

from __future__ import annotations

import fnmatch
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutti import proc
from tutti.direct.messages import ToolSpec
from tutti.direct.patch import PatchError, apply_hunks, parse_patch
from tutti.fsutil import write_text_atomic
from tutti.paths import inside

MAX_READ_BYTES = 200_000
MAX_OUTPUT_CHARS = 16_000
MAX_MATCHES = 200
SKIP_DIRS = {".git", ".tutti", "node_modules", "__pycache__", ".venv", "venv"}
PROTECTED_DIRS = {".git", ".tutti"}  # never written by file tools

TOOL_NAMES = ("read_file", "write_file", "apply_patch", "shell", "grep", "glob")


class ToolFailure(Exception):
    """A tool could not do what the model asked; the message goes back to the model."""


@dataclass
class ToolOutcome:
    content: str
    is_error: bool = False
    duration_ms: float = 0.0
    files_changed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "is_error": self.is_error,
            "duration_ms": round(self.duration_ms, 1),
            "files_changed": self.files_changed,
        }


def _obj(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


SPECS: dict[str, ToolSpec] = {
    "read_file": ToolSpec(
        "read_file",
        "Read a text file (path relative to the project root). Optional 1-based "
        "`offset` line and `limit` lines.",
        _obj(
            {"path": {"type": "string"}, "offset": {"type": "integer"}, "limit": {"type": "integer"}},
            ["path"],
        ),
    ),
    "write_file": ToolSpec(
        "write_file",
        "Create or overwrite a text file with `content`.",
        _obj({"path": {"type": "string"}, "content": {"type": "string"}}, ["path", "content"]),
    ),
    "apply_patch": ToolSpec(
        "apply_patch",
        "Apply a unified diff (---/+++ headers, @@ hunks) to files in the project.",
        _obj({"patch": {"type": "string"}}, ["patch"]),
    ),
    "shell": ToolSpec(
        "shell",
        "Run a shell command in the project root; returns exit code and output.",
        _obj({"command": {"type": "string"}, "timeout_secs": {"type": "number"}}, ["command"]),
    ),
    "grep": ToolSpec(
        "grep",
        "Search file contents with a regular expression; returns path:line: text.",
        _obj(
            {
                "pattern": {"type": "string"},
                "path": {"type": "string"},
                "glob": {"type": "string"},
                "ignore_case": {"type": "boolean"},
            },
            ["pattern"],
        ),
    ),
    "glob": ToolSpec(
        "glob",
        "List files matching a glob pattern such as `**/*.py`.",
        _obj({"pattern": {"type": "string"}}, ["pattern"]),
    ),
}


def truncate(text: str, limit: int = MAX_OUTPUT_CHARS) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n… [{len(text) - limit} characters omitted] …\n{text[-half:]}"


class ToolBox:
    """The tools of one agent, rooted at `root` (its worktree or the workspace)."""

    def __init__(
        self,
        root: Path,
        *,
        shell_timeout_secs: float = 120.0,
        max_shell_timeout_secs: float = 900.0,
        hidden_env: Iterable[str] = (),
        cancel: threading.Event | None = None,
    ) -> None:
        self.root = root.resolve()
        self.shell_timeout_secs = shell_timeout_secs
        self.max_shell_timeout_secs = max_shell_timeout_secs
        self.hidden_env = set(hidden_env)
        self.cancel = cancel
        self._handlers: dict[str, Callable[[dict[str, Any]], ToolOutcome]] = {
            "read_file": self.read_file,
            "write_file": self.write_file,
            "apply_patch": self.apply_patch,
            "shell": self.shell,
            "grep": self.grep,
            "glob": self.glob,
        }

    def specs(self, allowed: Iterable[str] | None = None) -> list[ToolSpec]:
        names = TOOL_NAMES if allowed is None else [n for n in TOOL_NAMES if n in set(allowed)]
        return [SPECS[n] for n in names]

    def execute(self, name: str, args: dict[str, Any]) -> ToolOutcome:
        started = time.monotonic()
        handler = self._handlers.get(name)
        try:
            if handler is None:
                raise ToolFailure(f"unknown tool '{name}'; available: {', '.join(TOOL_NAMES)}")
            if "__invalid_json__" in args:
                raise ToolFailure(f"arguments are not a JSON object: {args['__invalid_json__'][:200]!r}")
            outcome = handler(args)
        except ToolFailure as exc:
            outcome = ToolOutcome(f"ERROR: {exc}", is_error=True)
        except (OSError, UnicodeError) as exc:
            # The filesystem said no (permissions, not UTF-8, disk full): the model should know.
            outcome = ToolOutcome(f"ERROR: {name} failed: {type(exc).__name__}: {exc}", is_error=True)
        outcome.duration_ms = (time.monotonic() - started) * 1000
        return outcome

    # -- paths --------------------------------------------------------------------------------
    def resolve(self, raw: Any, *, what: str = "path", write: bool = False) -> Path:
        if not isinstance(raw, str) or not raw.strip():
            raise ToolFailure(f"`{what}` must be a non-empty string")
        candidate = Path(raw)
        candidate = candidate if candidate.is_absolute() else self.root / candidate
        # resolve() follows every symlink on the way, including a dangling final one.
        resolved = candidate.resolve()
        if not inside(self.root, resolved):
            reason = "a symlink points" if _has_symlink(self.root, candidate) else "it is"
            raise ToolFailure(
                f"path '{raw}' is outside the agent root {self.root} ({reason} outside); "
                "only files inside the project can be used"
            )
        if write and resolved != self.root and resolved.relative_to(self.root).parts[0] in PROTECTED_DIRS:
            # .git/hooks or Tutti's own store would let a model run code or rewrite its record.
            raise ToolFailure(
                f"path '{raw}' is inside {resolved.relative_to(self.root).parts[0]}/, "
                "which tools may not modify"
            )
        return resolved

    def escape_reason(self, tool: str, args: dict[str, Any]) -> str | None:
        """Why this call would touch a path outside the root (None when it stays inside).
        Used by the policy gate so escapes are refused and recorded before the tool runs."""
        raw_paths: list[Any] = []
        write = tool in ("write_file", "apply_patch")
        if tool in ("read_file", "write_file") or tool == "grep" and "path" in args:
            raw_paths.append(args.get("path"))
        elif tool == "apply_patch" and isinstance(args.get("patch"), str):
            try:
                for fp in parse_patch(args["patch"]):
                    raw_paths += [p for p in (fp.old_path, fp.new_path) if p]
            except PatchError:
                return None  # malformed patches are reported by the tool itself
        for raw in raw_paths:
            if not isinstance(raw, str) or not raw.strip():
                continue
            try:
                self.resolve(raw, write=write)
            except ToolFailure as exc:
                return str(exc)
        return None

    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.root)) if path != self.root else "."

    @staticmethod
    def _arg(args: dict[str, Any], key: str, kind: type | tuple[type, ...] = str, default: Any = ...) -> Any:
        if key not in args:
            if default is ...:
                raise ToolFailure(f"missing required argument `{key}`")
            return default
        value = args[key]
        if not isinstance(value, kind):
            raise ToolFailure(f"argument `{key}` has the wrong type ({type(value).__name__})")
        return value

    # -- the tools ----------------------------------------------------------------------------
    def read_file(self, args: dict[str, Any]) -> ToolOutcome:
        path = self.resolve(self._arg(args, "path"))
        if not path.is_file():
            raise ToolFailure(f"no such file: {self.rel(path)}")
        data = path.read_bytes()[: MAX_READ_BYTES + 1]
        if b"\0" in data[:8192]:
            raise ToolFailure(f"{self.rel(path)} is a binary file")
        text = data[:MAX_READ_BYTES].decode("utf-8", errors="replace")
        offset = self._arg(args, "offset", int, 1)
        limit = self._arg(args, "limit", int, 0)
        if offset > 1 or limit:
            lines = text.splitlines(keepends=True)
            start = max(offset - 1, 0)
            text = "".join(lines[start : start + limit] if limit else lines[start:])
        if len(data) > MAX_READ_BYTES:
            text += f"\n… [file truncated at {MAX_READ_BYTES} bytes; use offset/limit]"
        return ToolOutcome(text)

    def write_file(self, args: dict[str, Any]) -> ToolOutcome:
        path = self.resolve(self._arg(args, "path"), write=True)
        content = self._arg(args, "content")
        if path.is_dir():
            raise ToolFailure(f"{self.rel(path)} is a directory")
        write_text_atomic(path, content)
        return ToolOutcome(
            f"wrote {len(content.encode())} bytes to {self.rel(path)}", files_changed=[self.rel(path)]
        )

    def apply_patch(self, args: dict[str, Any]) -> ToolOutcome:
        try:
            patches = parse_patch(self._arg(args, "patch"))
            planned: list[tuple[Path, str | None]] = []
            for fp in patches:
                target = self.resolve(fp.path, write=True)
                if fp.old_path is None:
                    if target.exists():
                        raise PatchError(f"{fp.path}: patch creates it but it already exists")
                    original = ""
                else:
                    source = self.resolve(fp.old_path)
                    if not source.is_file():
                        raise PatchError(f"{fp.old_path}: no such file")
                    original = source.read_text(encoding="utf-8")
                planned.append((target, None if fp.new_path is None else apply_hunks(original, fp)))
        except PatchError as exc:
            raise ToolFailure(f"patch not applied: {exc}") from None
        for target, content in planned:
            if content is None:
                target.unlink()
            else:
                write_text_atomic(target, content)
        changed = [self.rel(t) for t, _ in planned]
        return ToolOutcome(f"patched {len(changed)} file(s): {', '.join(changed)}", files_changed=changed)

    def shell(self, args: dict[str, Any]) -> ToolOutcome:
        command = self._arg(args, "command")
        timeout = float(self._arg(args, "timeout_secs", (int, float), self.shell_timeout_secs))
        timeout = max(1.0, min(timeout, self.max_shell_timeout_secs))
        env = {k: v for k, v in os.environ.items() if k not in self.hidden_env}
        result = proc.run(
            proc.shell_argv(command),
            cwd=self.root,
            env=env,
            timeout=timeout,
            cancel=self.cancel,
            capture_bytes=MAX_OUTPUT_CHARS * 4,
        )
        status = (
            f"timed out after {timeout:g}s (process group killed)"
            if result.timed_out
            else f"exit code {result.returncode}"
        )
        parts = [status]
        if result.stdout:
            parts.append("stdout:\n" + truncate(result.stdout))
        if result.stderr:
            parts.append("stderr:\n" + truncate(result.stderr, MAX_OUTPUT_CHARS // 2))
        return ToolOutcome("\n".join(parts), is_error=not result.ok)

    def _walk(self, base: Path) -> Iterable[Path]:
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if inside(self.root, path):  # a symlinked file pointing out is skipped
                    yield path

    def grep(self, args: dict[str, Any]) -> ToolOutcome:
        flags = re.IGNORECASE if self._arg(args, "ignore_case", bool, False) else 0
        try:
            regex = re.compile(self._arg(args, "pattern"), flags)
        except re.error as exc:
            raise ToolFailure(f"invalid regular expression: {exc}") from None
        base = self.resolve(self._arg(args, "path", str, "."))
        file_glob = self._arg(args, "glob", str, None)
        files = [base] if base.is_file() else self._walk(base)
        hits: list[str] = []
        for path in files:
            if (
                file_glob
                and not fnmatch.fnmatch(path.name, file_glob)
                and not fnmatch.fnmatch(self.rel(path), file_glob)
            ):
                continue
            try:
                if path.stat().st_size > MAX_READ_BYTES * 5:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            if b"\0" in data[:8192]:
                continue
            for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
                if regex.search(line):
                    hits.append(f"{self.rel(path)}:{number}: {line[:300]}")
                    if len(hits) >= MAX_MATCHES:
                        return ToolOutcome("\n".join(hits) + f"\n… [stopped at {MAX_MATCHES} matches]")
        return ToolOutcome("\n".join(hits) if hits else "no matches")

    def glob(self, args: dict[str, Any]) -> ToolOutcome:
        pattern = self._arg(args, "pattern")
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise ToolFailure(f"glob pattern '{pattern}' must be relative to the project root without '..'")
        found = []
        for path in sorted(self.root.glob(pattern)):
            if any(part in SKIP_DIRS for part in path.relative_to(self.root).parts):
                continue
            if path.is_file() and inside(self.root, path):
                found.append(self.rel(path))
                if len(found) >= 500:
                    found.append("… [stopped at 500 files]")
                    break
        return ToolOutcome("\n".join(found) if found else "no files match")


def _has_symlink(root: Path, candidate: Path) -> bool:
    try:
        rel = candidate.relative_to(root)
    except ValueError:
        return False
    current = root
    for part in rel.parts:
        current = current / part
        if current.is_symlink():
            return True
    return False
