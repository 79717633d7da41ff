"""One event spine: events a host recorded in its own store reach the control store exactly once.

A host records every event of a step in its local store first (its `events.seq` is the per-host
sequence, AUTOINCREMENT, never reused). `host_events` reads them for the activity result; the
control side inserts each into its own `events` table, guarded by a row in `host_event_seen`
keyed (host, host_seq) in the SAME transaction — so a retried activity, a replayed result or a
reconnect re-sends freely and nothing is lost or doubled. Forwarded events keep their host
timestamp and carry `host` and `host_seq` in their data.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

    from tutti.store import Store


def host_events(store: Store, run_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
    """The host's events of one run, in host order, as plain dicts (activity payload)."""
    rows = store.query("SELECT seq, ts, kind, agent, run_id, step, correlation_id, data FROM events "
                       "WHERE run_id = ? AND seq > ? ORDER BY seq", (run_id, after_seq))
    return [{"host_seq": r["seq"], "ts": r["ts"], "kind": r["kind"], "agent": r["agent"], "run_id": r["run_id"],
             "step": r["step"], "correlation_id": r["correlation_id"], "data": json.loads(r["data"] or "{}")}
            for r in rows]


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
