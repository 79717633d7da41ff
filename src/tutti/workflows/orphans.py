"""Commands orphaned by a crashed `tt run`.

Every command step runs in its own process group, so when the `tt` process that started it is
SIGKILLed the command keeps running. Replaying the step on `--resume` while the old command
still runs would do the work twice, concurrently. Each command carries `TUTTI_RUN_ID` in its
environment; before a resumed run schedules anything, the process groups of live processes
carrying this run's id are killed. (Linux `/proc`; elsewhere this is a no-op.)
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

PROC = Path("/proc")


def find_orphans(run_id: str) -> list[int]:
    """Pids of live processes (of this user) whose environment has TUTTI_RUN_ID=run_id."""
    needle = f"TUTTI_RUN_ID={run_id}".encode()
    me = os.getpid()
    pids = []
    if not PROC.is_dir():
        return pids
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or another user's process
            continue
        if needle in environ.split(b"\0"):
            pids.append(int(entry.name))
    return sorted(pids)


def kill_orphans(run_id: str) -> list[int]:
    """SIGKILL the process groups of this run's orphaned commands; returns the pids found."""
    pids = find_orphans(run_id)
    own_group = os.getpgrp()
    groups = set()
    for pid in pids:
        try:
            groups.add(os.getpgid(pid))
        except ProcessLookupError:
            continue
    for group in groups - {own_group}:
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return pids
