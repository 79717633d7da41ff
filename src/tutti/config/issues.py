"""One problem found in a config file, and the ConfigError that carries it.

`ConfigIssue` is plain data (file, key path, message, hint) so `tt doctor` can list every
problem at once, while loading raises the first one as a `ConfigValidationError` (exit 2).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from tutti.errors import ConfigError


def display_path(path: Path | str) -> str:
    """The path as a user would type it: relative to cwd when inside it, else absolute."""
    p = Path(path)
    try:
        rel = os.path.relpath(p.resolve(), Path.cwd().resolve())
    except (OSError, ValueError):
        return str(p)
    return str(p) if rel.startswith("..") else rel


def one_line(text: str) -> str:
    """Control characters (a newline in an agent name, say) shown escaped: messages stay one line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in text)


@dataclass(frozen=True)
class ConfigIssue:
    file: str  # display form of the file (or `template 'x'`)
    key_path: str  # e.g. "workflow 'verify' → step 2 (command) → subdir"
    message: str  # e.g. "invalid config: workflow 'verify', step 2 has empty subdir"
    hint: str

    def __post_init__(self) -> None:
        for name in ("file", "key_path", "message", "hint"):
            object.__setattr__(self, name, one_line(getattr(self, name)))

    def render(self) -> str:
        """One line: file, message and — unless the message already shows it — the key path."""
        where = "" if self.key_path in self.message else f" (at {self.key_path})"
        return f"{self.file}: {self.message}{where}"

    def to_error(self) -> ConfigValidationError:
        return ConfigValidationError(self)

    def to_dict(self) -> dict:
        return asdict(self) | {"rendered": self.render()}


class ConfigValidationError(ConfigError):
    """A config file is readable but wrong; `.issue` says exactly where."""

    def __init__(self, issue: ConfigIssue) -> None:
        super().__init__(issue.render(), hint=issue.hint)
        self.issue = issue
        self.file = issue.file
        self.key_path = issue.key_path
