"""Process-tree facts from /proc (Linux): the pane's shell and everything it started."""

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
    return (PROC / str(pid)).is_dir()


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
