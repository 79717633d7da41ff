"""The numbered migrations bring every database to the current schema — including one made
before `step_attempts` (supervised command steps) and `host_event_seen` (distributed spine)
were migrations, when both were created on first use with IF NOT EXISTS."""

from __future__ import annotations

import sqlite3

from tutti.store.db import Store
from tutti.store.migrations import MIGRATIONS

OLD_STEP_ATTEMPTS = """CREATE TABLE IF NOT EXISTS step_attempts (
    run_id TEXT NOT NULL, step_index INTEGER NOT NULL, attempt INTEGER NOT NULL, try_no INTEGER NOT NULL,
    state TEXT NOT NULL, sup_pid INTEGER, sup_start INTEGER, child_pid INTEGER, child_start INTEGER,
    exit_code INTEGER, timed_out INTEGER NOT NULL DEFAULT 0, cancelled INTEGER NOT NULL DEFAULT 0,
    output_tail TEXT NOT NULL DEFAULT '', log_path TEXT, created_at TEXT NOT NULL, started_at TEXT,
    finished_at TEXT, PRIMARY KEY (run_id, step_index, attempt, try_no))"""
OLD_SEEN = ("CREATE TABLE IF NOT EXISTS host_event_seen (host TEXT NOT NULL, host_seq INTEGER NOT NULL, "
            "control_seq INTEGER, PRIMARY KEY (host, host_seq))")


def _tables(path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _version(path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def _at_version(path, version: int) -> None:
    """A database as a release with `version` migrations left it."""
    conn = sqlite3.connect(path)
    for i in range(version):
        for statement in MIGRATIONS[i].split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {i + 1}")
    conn.commit()
    conn.close()


def test_a_new_database_has_both_tables(tmp_path):
    store = Store(tmp_path / "t.db")
    assert store.schema_version == len(MIGRATIONS)
    assert {"step_attempts", "host_event_seen"} <= _tables(store.path)


def test_a_database_that_created_the_tables_on_first_use_migrates_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    _at_version(path, 5)
    with sqlite3.connect(path) as conn:
        conn.execute(OLD_STEP_ATTEMPTS)
        conn.execute(OLD_SEEN)
        conn.execute("INSERT INTO step_attempts (run_id, step_index, attempt, try_no, state, created_at) "
                     "VALUES ('r1', 1, 1, 1, 'finished', 'then')")
        conn.execute("INSERT INTO host_event_seen (host, host_seq, control_seq) VALUES ('h1', 7, 42)")
    assert _version(path) == 5
    store = Store(path)
    assert store.schema_version == len(MIGRATIONS)
    assert [dict(r) for r in store.query("SELECT run_id, state FROM step_attempts")] == [
        {"run_id": "r1", "state": "finished"}]
    assert [tuple(r) for r in store.query("SELECT host, host_seq, control_seq FROM host_event_seen")] == [("h1", 7, 42)]


def test_a_database_without_the_tables_gets_them(tmp_path):
    path = tmp_path / "v5.db"
    _at_version(path, 5)
    assert not {"step_attempts", "host_event_seen"} & _tables(path)
    Store(path)
    assert {"step_attempts", "host_event_seen"} <= _tables(path)
    assert _version(path) == len(MIGRATIONS)
