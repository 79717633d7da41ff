"""Wake-ups for event readers: appending an event wakes them at once instead of at their next poll.

Two paths, both mere hints (a reader always re-reads the store from its own cursor, so a lost,
duplicated or forged wake-up can delay nothing by more than the reader's safety poll and can
never lose or repeat an event):

- in this process: `listen(db_path, callback)` — `Store` calls each callback after it commits
  a transaction that appended events;
- other processes: a `Listener` binds a Linux abstract-namespace datagram socket and drops an
  empty marker file named after it in `.tutti/notify/` next to the database. After a commit
  with events, `Store` sends one byte to each marker's socket (non-blocking; a full buffer
  means the reader is already awake). A marker whose socket is gone (its process died) is
  removed by the first writer that finds it so.

Abstract sockets have no path-length limit and leave nothing behind on a crash except the
marker. Where they are unavailable (not Linux) `Listener` raises OSError and readers poll.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

_PREFIX = "tutti-notify-"
_local: dict[str, list[Callable[[], None]]] = {}  # db path -> in-process callbacks
_local_lock = threading.Lock()


def notify_dir(db_path: Path) -> Path:
    return db_path.parent / "notify"


# -- in-process --------------------------------------------------------------------------------
def listen(db_path: Path, callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` (from the writer's thread) after each commit with events; returns unlisten."""
    key = str(db_path)
    with _local_lock:
        _local.setdefault(key, []).append(callback)

    def unlisten() -> None:
        with _local_lock:
            callbacks = _local.get(key, [])
            if callback in callbacks:
                callbacks.remove(callback)

    return unlisten


# -- across processes --------------------------------------------------------------------------
class Listener:
    """This process's wake-up socket for one database. `fileno()` is readable after a wake-up;
    `drain()` empties it. Raises OSError where abstract sockets are not supported."""

    def __init__(self, db_path: Path) -> None:
        import socket  # here, not at the top: every `tt` that opens the store imports this module

        self.name = f"{os.getpid()}-{os.urandom(6).hex()}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.sock.bind(b"\0" + (_PREFIX + self.name).encode())
            self.sock.setblocking(False)
            self.marker = notify_dir(db_path) / self.name
            self.marker.parent.mkdir(parents=True, exist_ok=True)
            self.marker.touch()  # after bind: a marker without a live socket means a dead reader
        except OSError:
            self.sock.close()
            raise

    def fileno(self) -> int:
        return self.sock.fileno()

    def drain(self) -> None:
        try:
            while self.sock.recv(64):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            pass

    def close(self) -> None:
        try:
            self.marker.unlink(missing_ok=True)
        except OSError:
            pass
        self.sock.close()


_send_sock: Any = None  # a socket.socket once the first wake-up is sent
_send_lock = threading.Lock()


def wake(db_path: Path) -> None:
    """After a commit that appended events: wake every reader of this database."""
    key = str(db_path)
    with _local_lock:
        callbacks = list(_local.get(key, ()))
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a reader's bug must never fail a writer's commit
            pass
    try:
        names = os.listdir(notify_dir(db_path))
    except OSError:
        return
    mine = f"{os.getpid()}-"
    for name in names:
        if callbacks and name.startswith(mine):
            continue  # this process's own readers were called directly
        _send(notify_dir(db_path), name)


def _send(folder: Path, name: str) -> None:
    global _send_sock
    import socket

    with _send_lock:
        if _send_sock is None:
            _send_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            _send_sock.setblocking(False)
        try:
            _send_sock.sendto(b"!", b"\0" + (_PREFIX + name).encode())
        except (BlockingIOError, InterruptedError):
            pass  # its buffer is full: that reader has wake-ups pending already
        except (ConnectionRefusedError, FileNotFoundError):
            try:
                (folder / name).unlink(missing_ok=True)  # its process is gone
            except OSError:
                pass
        except OSError:
            pass
