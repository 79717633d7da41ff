"""The workspace's background supervisor process, seen from below: is it running, start it.

`tt up` (and a workflow step starting an agent) calls `ensure_running(ws)` after launching
agents. The process itself (`python -m tutti.supervisor ROOT`, `tutti.supervisor.process.main`)
lives above `ops`; this
module only knows how to start it by module name and how to find it (pidfile
`.tutti/state/watcher.pid`, log `.tutti/logs/watcher.log` — the file names predate the
supervisor and are kept for users' scripts).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutti.workspace import Workspace

PIDFILE = "watcher.pid"
MODULE = "tutti.supervisor"  # run as `python -m tutti.supervisor ROOT`


def pidfile(ws_root: Path) -> Path:
    return ws_root / ".tutti" / "state" / PIDFILE


def running_pid(ws_root: Path) -> int | None:
    """pid of this workspace's live supervisor process, if any."""
    try:
        pid = int(pidfile(ws_root).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    if MODULE.encode() in cmdline and str(ws_root).encode() in cmdline:
        return pid
    return None


def ensure_running(ws: Workspace) -> int:
    """Start the workspace supervisor in the background unless one is alive; return its pid."""
    pid = running_pid(ws.root)
    if pid is not None:
        return pid
    from tutti import proc

    child = proc.spawn([sys.executable, "-m", MODULE, str(ws.root)], on_line=lambda _l: None, cwd=ws.root)
    # Wait (briefly) for the child to claim the pidfile, so a second `tt up` does not start another.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and running_pid(ws.root) != child.pid and child.alive:
        time.sleep(0.02)
    return child.pid
