"""The background supervisor process of one workspace: `python -m tutti.supervisor ROOT`.

Started by `tt up` (`tutti.ops.supervisor_process.ensure_running`), detached: stdout/stderr go
to `.tutti/logs/watcher.log`, the pid to `.tutti/state/watcher.pid` while it watches. It holds
the workspace's watcher lock for its whole life (one per workspace), runs the supervisor's
parts for this host (`Parts.for_host(ws, "process")`: the watcher with recovery and
auto-handoff) in its main thread, and exits when no session of the workspace remains.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from tutti.fsutil import write_text_atomic
from tutti.ops.supervisor_process import pidfile
from tutti.sessions.naming import live_and_ours
from tutti.sessions.tmux import TmuxBackend
from tutti.store.db import now_iso
from tutti.supervisor.core import Parts
from tutti.supervisor.watcher import Watcher, try_lock
from tutti.workspace import Workspace

LOG_FILE = "watcher.log"
LOCK_WAIT_SECS = 5.0


def main(argv: list[str] | None = None) -> int:
    from tutti.workspace import load_workspace_at

    args = argv if argv is not None else sys.argv[1:]
    root = Path(args[0]).resolve()
    ws = load_workspace_at(root)
    _detach_stdio(ws)
    # One watcher per workspace: the lock is held for the life of the process. Wait a little
    # for it: a previous one may be on its way out.
    lock = None
    deadline = time.monotonic() + LOCK_WAIT_SECS
    while lock is None and time.monotonic() < deadline:
        lock = try_lock(ws)
        if lock is None:
            time.sleep(0.1)
    if lock is None:
        return 0
    print(f"{now_iso()} supervisor {os.getpid()} started for {root}")
    try:
        _supervise(ws)
    finally:
        _release_pidfile(root)
        lock.close()
        print(f"{now_iso()} supervisor {os.getpid()} exiting")
    return 0


def _supervise(ws: Workspace) -> None:
    parts = Parts.for_host(ws, "process")
    if parts.telemetry:  # a daemon thread: it ends with this process
        import threading

        from tutti.telemetry.exporter import start_background

        start_background(ws, threading.Event())
    import threading

    from tutti.supervisor.inbox import start_background as start_inbox  # agent-to-agent messages

    start_inbox(ws, threading.Event())
    while True:
        write_text_atomic(pidfile(ws.root), f"{os.getpid()}\n")
        Watcher(ws, recover=parts.recover).run(exclusive=False)
        _release_pidfile(ws.root)
        # A `tt up` may have started a session while we were deciding to exit (and seen
        # our pid as alive): look once more before letting go of the lock.
        live = TmuxBackend().panes()
        if not any(live_and_ours(live, ws.session_name(a.name)) for a in ws.config.agents):
            return


def _detach_stdio(ws: Workspace) -> None:
    """Detached: our stdio pipes die with the `tt` that started us; log to the workspace."""
    logs = ws.tutti_dir / "logs"
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    fd = os.open(logs / LOG_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)


def _release_pidfile(root: Path) -> None:
    try:
        if pidfile(root).read_text().strip() == str(os.getpid()):
            pidfile(root).unlink()
    except FileNotFoundError:
        pass
