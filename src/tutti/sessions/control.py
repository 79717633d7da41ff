"""A tmux control-mode client (`tmux -C attach`): output notifications without polling.

tmux sends `%output %PANE data` to control clients within milliseconds of a pane write; we
only need to know *that* a pane wrote (the screen itself is read with capture-pane), so the
payload is not decoded. Command replies (`%begin … %end`) are skipped; `%exit` means the
session is gone; `%sessions-changed` means some session was created or killed on the server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from tutti import proc
from tutti.sessions.tmux import TmuxBackend

OnOutput = Callable[[str], None]  # pane id, e.g. "%3"
OnNotify = Callable[[str, str], None]  # notification name (without %), rest of line


class ControlClient:
    def __init__(self, backend: TmuxBackend, session: str, *, on_output: OnOutput,
                 on_notify: OnNotify | None = None, on_exit: Callable[[], None] | None = None) -> None:
        self.backend = backend
        self.session = session
        self._on_output = on_output
        self._on_notify = on_notify
        self._on_exit = on_exit
        self._in_block = False
        self._child: proc.Spawned | None = None
        self._exited = threading.Event()

    def start(self) -> ControlClient:
        self._child = proc.spawn(self.backend.control_argv(self.session), on_line=self._line, on_exit=self._gone)
        return self

    def command(self, line: str) -> bool:
        """Send one tmux command to the server through this client (e.g. refresh-client -B)."""
        return self._child is not None and self._child.write(line.encode() + b"\n")

    def subscribe(self, name: str, fmt: str) -> bool:
        """`%subscription-changed NAME …` arrives whenever `fmt` changes for any pane (tmux ≥ 3.2)."""
        return self.command(f"refresh-client -B '{name}:%*:{fmt}'")

    @property
    def exited(self) -> bool:
        return self._exited.is_set()

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child else None

    def stop(self) -> None:
        if self._child is not None:
            self._child.stop()

    # -- parsing ----------------------------------------------------------------------------
    def _line(self, raw: bytes) -> None:
        if not raw.startswith(b"%"):
            return  # a line of a command reply
        head, _, rest = raw.rstrip(b"\r\n").partition(b" ")
        name = head[1:].decode("ascii", "replace")
        if name == "begin":
            self._in_block = True
            return
        if name in ("end", "error"):
            self._in_block = False
            return
        if self._in_block:
            return
        if name in ("output", "extended-output"):
            pane, _, _ = rest.partition(b" ")
            self._on_output(pane.decode("ascii", "replace"))
        elif name == "exit":
            self._exited.set()
        elif self._on_notify is not None:
            self._on_notify(name, rest.decode("utf-8", "replace"))

    def _gone(self) -> None:
        self._exited.set()
        if self._on_exit is not None:
            self._on_exit()
