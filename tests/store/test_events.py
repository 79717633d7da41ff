import multiprocessing
import sqlite3

from tutti.store import open_store
from tutti.store.migrations import MIGRATIONS


def test_store_is_wal_and_migrated(tmp_path):
    store = open_store(tmp_path, workspace="demo")
    assert store.schema_version == len(MIGRATIONS)
    mode = store.query("PRAGMA journal_mode")[0][0]
    assert mode == "wal"


def test_append_and_read_from_cursor(tmp_path):
    store = open_store(tmp_path, workspace="demo")
    first = store.append_event("agent.started", agent="a", data={"runtime": "fake"})
    second = store.append_event("agent.idle", agent="a")
    third = store.append_event("workflow.started", run_id="r1")
    assert first.seq < second.seq < third.seq
    after_first = store.read_events(first.seq)
    assert [e.kind for e in after_first] == ["agent.idle", "workflow.started"]
    assert store.read_events(0, run_id="r1")[0].correlation_id == "r1"
    assert store.read_events(0, kind_prefix="agent.")[0].data == {"runtime": "fake"}
    assert store.latest_seq() == third.seq


def test_transaction_rolls_back_everything(tmp_path):
    store = open_store(tmp_path)
    try:
        with store.transaction() as conn:
            store.append_event("a", conn=conn)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert store.read_events(0) == []


def _writer(root, n, tag):
    store = open_store(root)
    for i in range(n):
        store.append_event("test.write", data={"tag": tag, "i": i})



def _race_writers(root, n: int, writers: int = 4) -> None:
    """`writers` processes each append `n` events at once; every one must exit cleanly."""
    procs = [multiprocessing.Process(target=_writer, args=(root, n, t)) for t in range(writers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0


def test_concurrent_processes_never_lose_or_reorder(tmp_path):
    # Migrate once before the race, and close: the writers are forked, and a child that
    # inherits an open connection to the same file inherits SQLite's in-process lock
    # bookkeeping for it without the locks (sqlite.org/howtocorrupt.html §2.6) — writes get lost.
    open_store(tmp_path).close()
    _race_writers(tmp_path, 200)
    events = open_store(tmp_path).read_events(0, limit=10_000)
    assert len(events) == 800
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == 800
    for tag in range(4):
        mine = [e.data["i"] for e in events if e.data["tag"] == tag]
        assert mine == list(range(200))  # each writer's own order is preserved


def test_concurrent_first_open_migrates_once(tmp_path):
    _race_writers(tmp_path, 1)
    conn = sqlite3.connect(tmp_path / ".tutti" / "tutti.db")
    assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 4
