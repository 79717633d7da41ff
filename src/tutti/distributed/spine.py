"""One event spine: events a host recorded in its own store reach the control store exactly once.

A host records every event of a step in its local store first (its `events.seq` is the per-host
sequence, AUTOINCREMENT, never reused). `host_events` reads them for the activity result; the
control side inserts each into its own `events` table, guarded by a row in `host_event_seen`
keyed (host, host_seq) in the SAME transaction — so a retried activity, a replayed result or a
reconnect re-sends freely and nothing is lost or doubled. Forwarded events keep their host
timestamp and carry `host` and `host_seq` in their data.

Outside runs (watcher transitions, usage, `agent.*` events of agents a user drives by hand) the
host's forwarder (`distributed.forwarder`, inside `tt host --name H`) sends every event after its
cursor the same way, then moves the cursor (`.tutti/state/spine-forwarded-H.json`) — only after
the control acknowledged the batch, so a crash re-sends (deduped) and never skips. Run events
sent by a step's result and again by the forwarder land once: same (host, host_seq) key.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

    from tutti.store import Store


_COLUMNS = "seq, ts, kind, agent, run_id, step, correlation_id, data"


def _payload(rows: list[Any]) -> list[dict[str, Any]]:
    return [{"host_seq": r["seq"], "ts": r["ts"], "kind": r["kind"], "agent": r["agent"], "run_id": r["run_id"],
             "step": r["step"], "correlation_id": r["correlation_id"], "data": json.loads(r["data"] or "{}")}
            for r in rows]


def host_events(store: Store, run_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
    """The host's events of one run, in host order, as plain dicts (activity payload)."""
    return _payload(store.query(f"SELECT {_COLUMNS} FROM events WHERE run_id = ? AND seq > ? ORDER BY seq",
                                (run_id, after_seq)))


def events_after(store: Store, after_seq: int, limit: int = 500) -> list[dict[str, Any]]:
    """Every event of the host after `after_seq` (in runs or not), oldest first: the forwarder's batch."""
    return _payload(store.query(f"SELECT {_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                                (after_seq, limit)))


def origin(store: Store) -> str:
    """Which database this is: a control that is also this host (same store) ingests nothing."""
    import socket

    return f"{socket.gethostname()}:{store.path.resolve()}"


def cursor_path(state_dir: Path, host: str) -> Path:
    return state_dir / f"spine-forwarded-{host}.json"


def read_cursor(state_dir: Path, host: str) -> int:
    try:
        return int(json.loads(cursor_path(state_dir, host).read_text(encoding="utf-8"))["host_seq"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return 0


def write_cursor(state_dir: Path, host: str, host_seq: int) -> None:
    from tutti.fsutil import write_text_atomic

    state_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(cursor_path(state_dir, host), json.dumps({"host": host, "host_seq": host_seq}) + "\n")


def ingest_forwarded(store: Store, inp: dict[str, Any]) -> dict[str, Any]:
    """The control side of one forwarded batch (an activity on the control queue)."""
    if inp.get("origin") == origin(store):
        return {"added": 0, "same_store": True}
    with store.transaction() as conn:
        added = ingest(store, inp["host"], inp["events"], conn)
    return {"added": added, "same_store": False}


def ingest(store: Store, host: str, events: list[dict[str, Any]], conn: sqlite3.Connection) -> int:
    """Insert the events not seen before, inside the caller's transaction; returns how many."""
    added = 0
    for ev in sorted(events, key=lambda e: e["host_seq"]):
        cur = conn.execute("INSERT OR IGNORE INTO host_event_seen (host, host_seq) VALUES (?, ?)",
                           (host, int(ev["host_seq"])))
        if cur.rowcount != 1:
            continue
        data = {**(ev.get("data") or {}), "host": host, "host_seq": int(ev["host_seq"])}
        seq = conn.execute(
            "INSERT INTO events (ts, kind, workspace, agent, run_id, step, correlation_id, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (ev["ts"], ev["kind"], store.workspace, ev.get("agent"), ev.get("run_id"), ev.get("step"),
             ev.get("correlation_id") or ev.get("run_id"), json.dumps(data, default=str))).lastrowid
        conn.execute("UPDATE host_event_seen SET control_seq = ? WHERE host = ? AND host_seq = ?",
                     (seq, host, int(ev["host_seq"])))
        added += 1
    if added:
        store._appended = True  # wake SSE readers after the commit, as append_event does
    return added
