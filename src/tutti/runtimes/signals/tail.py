"""Reading the end of a growing log without reading all of it."""

from __future__ import annotations

from pathlib import Path

DEFAULT_TAIL_BYTES = 256 * 1024


def tail_lines(path: Path, max_bytes: int = DEFAULT_TAIL_BYTES) -> list[str]:
    """Complete lines in the last `max_bytes` of `path` (the first, possibly cut line dropped)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            start = max(0, size - max_bytes)
            fh.seek(start)
            data = fh.read()
    except OSError:
        return []
    end = data.rfind(b"\n")
    if end < 0:
        return []
    data = data[: end + 1]
    if start > 0:
        nl = data.find(b"\n")
        data = data[nl + 1:]
    return data.decode("utf-8", errors="replace").splitlines()
