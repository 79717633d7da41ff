"""The original's JSONL state files, mirrored from the event spine for users' scripts:

* `.tutti/state/events.jsonl` — one `ControlEvent` line per store event (`{event, workspace,
  agent?, timestamp, correlation_id, data?}`, plus our `seq`); past 5000 lines the oldest are
  moved to `events-{YYYYmmddHHMMSS}.jsonl` and 2500 kept, as the original did;
* `.tutti/state/run-telemetry.jsonl` — one line per finished workflow run (what the original's
  README documents): workflow, origin, status, failed steps, warnings, duration.

The store stays the source of truth: a mirror follows it by cursor (`events.jsonl.seq`) under an
exclusive lock, so concurrent `tt` processes never write a line twice and a process killed before
it mirrored leaves the lines to the next one. Each process syncs at exit and every few seconds
while it runs.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutti.store.db import Store

EVENTS_FILE = "events.jsonl"
TELEMETRY_FILE = "run-telemetry.jsonl"
ROTATE_AT, KEEP = 5000, 2500
FIRST_SYNC_LIMIT = KEEP  # a store older than its mirror: start from its most recent events
PERIOD_SECS = 2.0
_FINISHED = ("workflow.completed", "workflow.failed", "workflow.cancelled")

_watched: dict[str, tuple[Store, Path]] = {}
_guard = threading.Lock()


def watch(store: Store, state_dir: Path) -> None:
    """Keep this process's writes mirrored: at exit, and every PERIOD_SECS while it runs."""
    with _guard:
        first = not _watched
        _watched[str(state_dir)] = (store, state_dir)
    if first:
        atexit.register(sync_all)
        threading.Thread(target=_loop, name="tutti-state-files", daemon=True).start()


def _loop() -> None:
    while True:
        threading.Event().wait(PERIOD_SECS)
        sync_all()


def sync_all() -> None:
    with _guard:
        targets = list(_watched.values())
    for store, state_dir in targets:
        try:
            sync(store, state_dir)
        except Exception:  # a mirror problem must never break the command that produced the events
            pass


def sync(store: Store, state_dir: Path) -> int:
    """Append the events not yet mirrored; returns how many lines were written."""
    if not state_dir.is_dir():
        return 0
    with _locked(state_dir / f"{EVENTS_FILE}.lock"):
        cursor_path = state_dir / f"{EVENTS_FILE}.seq"
        try:
            cursor = int(cursor_path.read_text().strip() or 0)
        except (OSError, ValueError):
            cursor = max(0, store.latest_seq() - FIRST_SYNC_LIMIT)
        events = store.read_events(cursor, limit=100_000)
        if not events:
            return 0
        with open(state_dir / EVENTS_FILE, "a", encoding="utf-8") as fh:
            fh.write("".join(json.dumps(_control_event(e), default=str) + "\n" for e in events))
        telemetry = [_telemetry(store, e) for e in events if e.kind in _FINISHED]
        if telemetry:
            with open(state_dir / TELEMETRY_FILE, "a", encoding="utf-8") as fh:
                fh.write("".join(json.dumps(t, default=str) + "\n" for t in telemetry))
        tmp = cursor_path.with_suffix(".tmp")
        tmp.write_text(str(events[-1].seq))
        os.replace(tmp, cursor_path)
        _rotate(state_dir / EVENTS_FILE)
        return len(events)


def _control_event(e: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"event": e.kind, "workspace": e.workspace, "timestamp": e.ts,
                           "correlation_id": e.correlation_id or f"event-{e.seq}", "seq": e.seq}
    if e.agent:
        out["agent"] = e.agent
    if e.data:
        out["data"] = e.data
    return out


def _telemetry(store: Store, e: Any) -> dict[str, Any]:
    data = e.data or {}
    row = store.query("SELECT started_at, finished_at, cost_usd, input_tokens, output_tokens FROM runs "
                      "WHERE run_id = ?", (e.run_id,)) if e.run_id else []
    started = row[0]["started_at"] if row else None
    return {"timestamp": e.ts, "run_id": e.run_id, "workflow": data.get("workflow_name"),
            "origin": data.get("origin"), "status": data.get("status") or e.kind.split(".", 1)[1],
            "success": data.get("success"), "strict": data.get("strict"),
            "failed_steps": data.get("failed_steps", []), "warning_count": data.get("warning_count", 0),
            "started_at": started, "finished_at": e.ts, "duration_ms": _ms_between(started, e.ts),
            "cost_usd": row[0]["cost_usd"] if row else None,
            "input_tokens": row[0]["input_tokens"] if row else None,
            "output_tokens": row[0]["output_tokens"] if row else None}


def _ms_between(start: str | None, end: str | None) -> int | None:
    try:
        a, b = (datetime.fromisoformat(x.replace("Z", "+00:00")) for x in (start, end))  # type: ignore[union-attr]
    except (AttributeError, TypeError, ValueError):
        return None
    return int((b - a).total_seconds() * 1000)


def _rotate(path: Path) -> None:
    """Past ROTATE_AT lines: the oldest go to `events-{stamp}.jsonl`, the newest KEEP stay."""
    with open(path, "rb") as fh:
        count = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    if count <= ROTATE_AT:
        return
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    archive = path.with_name(f"events-{stamp}.jsonl")
    with open(archive, "a", encoding="utf-8") as fh:
        fh.write("".join(lines[:-KEEP]))
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(lines[-KEEP:]), encoding="utf-8")
    os.replace(tmp, path)


class _locked:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        self.fh = open(self.path, "a")
        fcntl.flock(self.fh, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()
