"""Process facts from /proc (Linux): liveness, start time, and a process's descendants
(an agent pane's shell and everything it started)."""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'.
    return raw[raw.rfind(")") + 2:].split()


def parent_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def start_ticks(pid: int) -> int | None:
    """Start time in clock ticks since boot (stat field 22) — tells a reused pid apart."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def alive(pid: int) -> bool:
    """The pid exists (possibly as a zombie)."""
    return (PROC / str(pid)).is_dir()


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphaned zombie waits for a reaper that may never come)."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return alive(pid)  # unreadable stat (e.g. hidepid): existence is all we can know
    return raw[raw.rfind(")") + 2:].split()[0] != "Z"


def descendants(root: int) -> list[int]:
    """`root` and every process below it, breadth first (root first)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        ppid = parent_of(int(entry.name))
        if ppid is not None:
            children.setdefault(ppid, []).append(int(entry.name))
    out, queue = [], [root]
    while queue:
        pid = queue.pop(0)
        out.append(pid)
        queue.extend(sorted(children.get(pid, [])))
    return out
