"""One set of file descriptors a `select()` loop waits on to hear that the store committed events:
a self-pipe poked by this process's commits (`notify.listen`) and the cross-process socket
(`notify.Listener`, None where abstract sockets are unavailable: the loop's own poll still reads)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Self

from tutti.store import notify


class StoreWakeup:
    def __init__(self, db_path: Path) -> None:
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        self._unlisten = notify.listen(db_path, self.poke)
        try:
            self.listener: notify.Listener | None = notify.Listener(db_path)
        except OSError:
            self.listener = None

    @property
    def fds(self) -> list[int]:
        return [self._r] + ([self.listener.fileno()] if self.listener is not None else [])

    def poke(self) -> None:
        """Wake the loop now (also from another thread: a stop request, a commit)."""
        try:
            os.write(self._w, b"x")
        except OSError:  # the pipe is full: the loop is already awake
            pass

    def drain(self, ready: list[int]) -> None:
        """Empty whichever of our descriptors `select()` reported readable."""
        if self._r in ready:
            try:
                os.read(self._r, 4096)
            except OSError:
                pass
        if self.listener is not None and self.listener.fileno() in ready:
            self.listener.drain()

    def close(self) -> None:
        self._unlisten()
        if self.listener is not None:
            self.listener.close()
        os.close(self._r)
        os.close(self._w)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
