"""The session backend interface: what Tutti needs from a terminal multiplexer.

Callers (ops, the watcher, workflow steps) talk to this protocol only, so a second backend
(zellij, a plain pty) can be added without touching them. `sessions.tmux.TmuxBackend` is the
implementation shipped today; `default_backend()` returns it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from tutti.sessions.pane import PaneInfo

__all__ = ["PaneInfo", "SessionBackend", "default_backend"]


class SessionBackend(Protocol):
    name: str

    def create(self, session: str, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
               width: int = 200, height: int = 50) -> PaneInfo:
        """Start `argv` in a new detached session; env reaches the process, never the screen."""
        ...

    def exists(self, session: str) -> bool: ...

    def kill(self, session: str) -> bool:
        """Kill the session; False if it did not exist."""
        ...

    def send_text(self, session: str, text: str, *, submit: bool = True, submit_delay: float = 0.0) -> None:
        """Paste `text` as one bracketed paste, then (optionally) press Enter exactly once."""
        ...

    def send_keys(self, session: str, *keys: str) -> None: ...

    def capture(self, session: str, *, scrollback: int = 0) -> str:
        """The visible screen plus `scrollback` lines of history, wrapped lines joined."""
        ...

    def snapshot(self, session: str) -> tuple[PaneInfo | None, str]:
        """(pane, visible screen) together; (None, "") when the session does not exist."""
        ...

    def list(self) -> list[str]:
        """Names of all live sessions on this backend."""
        ...

    def panes(self) -> dict[str, PaneInfo]:
        """Every session's pane (with the root it was launched for) in one call."""
        ...

    def set_env(self, session: str, key: str, value: str) -> None: ...

    def pane(self, session: str) -> PaneInfo | None: ...

    def pane_pid(self, session: str) -> int | None: ...


def default_backend() -> SessionBackend:
    from tutti.sessions.tmux import TmuxBackend

    return TmuxBackend()
