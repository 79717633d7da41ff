"""Commands orphaned by a crashed `tt run`.

Supervised command steps (the default) are not orphans: their step supervisor
(`workflows/stepsup.py`) outlives `tt`, records the outcome, and a resumed run adopts it — so
their processes must be left alone. What remains are processes of `idempotent = true` command
steps (run directly by `tt`, each in its own session) and anything else a crashed run left behind
carrying `TUTTI_RUN_ID` in its environment: replaying the step while they still run would do the
work twice, concurrently, so before a resumed run schedules anything their process groups are
killed. (Linux `/proc`; elsewhere this is a no-op.)
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tutti import proctree

PROC = Path("/proc")
SUPERVISOR_MARK = b"tutti/workflows/stepsup.py"


def _session_of(pid: int) -> int | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return int(raw[raw.rfind(")") + 2:].split()[3])


def _is_supervisor(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        return SUPERVISOR_MARK in (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False


def supervised(pid: int) -> bool:
    """`pid` belongs to a command a live step supervisor runs (the command leads its session)."""
    sid = _session_of(pid)
    return sid is not None and _is_supervisor(proctree.parent_of(sid))


def find_orphans(run_id: str) -> list[int]:
    """Pids of live, unsupervised processes (of this user) whose environment has TUTTI_RUN_ID=run_id."""
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
        if needle in environ.split(b"\0") and not supervised(int(entry.name)):
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
