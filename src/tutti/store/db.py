"""SQLite store in WAL mode, safe for several `tt` processes writing at once.

Writers take `BEGIN IMMEDIATE` (one writer at a time, others wait up to the busy timeout);
readers never block. `events.seq` is an AUTOINCREMENT key, so it only ever grows — the cursor
every reader (SSE, dashboard, `tt runs`) resumes from.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tutti.errors import StoreError
from tutti.store import notify
from tutti.store.migrations import MIGRATIONS

DB_FILENAME = "tutti.db"
BUSY_TIMEOUT_MS = 15000
# What a committed transaction survives (README, "Durability"). In WAL mode, synchronous=NORMAL
# keeps every commit across a crash of the process (SIGKILL, OOM) — what resume needs — and
# only the last commits may be lost to an OS crash or power cut; FULL fsyncs the WAL at every
# commit and survives those too, at the cost of one fsync per transaction.
DURABILITY_ENV = "TUTTI_DURABILITY"
SYNCHRONOUS = {"process": "NORMAL", "power": "FULL"}


_EVENT_JSON = json.JSONEncoder(default=str).encode  # built once: json.dumps(default=...) builds one per call
_second: tuple[int, str] = (0, "")  # the last whole second formatted (now_iso runs ~10 times a step)


def now_iso() -> str:
    """RFC3339 UTC with milliseconds — the timestamp format of every store row."""
    global _second
    t = time.time()
    whole = int(t)
    second = _second  # one read: another thread may replace it meanwhile
    if second[0] != whole:
        second = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{second[1]}.{int((t - whole) * 1000):03d}Z"


@dataclass
class Event:
    seq: int
    ts: str
    kind: str
    workspace: str | None = None
    agent: str | None = None
    run_id: str | None = None
    step: str | None = None
    correlation_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Event:
        return cls(
            seq=row["seq"], ts=row["ts"], kind=row["kind"], workspace=row["workspace"],
            agent=row["agent"], run_id=row["run_id"], step=row["step"],
            correlation_id=row["correlation_id"], data=json.loads(row["data"] or "{}"),
        )


class Store:
    """One workspace's database. Thread-safe: one connection guarded by a lock per process."""

    def __init__(self, path: Path, workspace: str | None = None) -> None:
        self.path = path
        self.workspace = workspace
        self._lock = threading.RLock()
        self._appended = False  # the open transaction appended events (wake readers on commit)
        synchronous = SYNCHRONOUS[durability()]
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {path}: {exc}", hint="check permissions of .tutti/") from exc
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._enable_wal()
            self._conn.execute(f"PRAGMA synchronous = {synchronous}")
            self._migrate()
        except sqlite3.OperationalError as exc:  # e.g. locked: a real condition, not a broken file
            self._conn.close()
            if disk_trouble(exc):
                raise disk_error(path, exc) from None
            if readonly_trouble(exc):
                raise readonly_error(path, exc) from None
            raise
        except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
            self._conn.close()
            raise StoreError(f"cannot use store {path}: {exc}",
                             hint=f"move it aside to start a fresh one (mv {path} {path}.bad); "
                                  "run history and events in it are lost to tutti") from None

    # -- plumbing -------------------------------------------------------------------------
    def _enable_wal(self) -> None:
        """Switch to WAL. Two processes opening a new database at once can both try the switch;
        SQLite answers the loser "database is locked" at once, without its busy handler — so
        retry within the busy timeout instead of failing the first `tt` command of a workspace."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)

    def _migrate(self) -> None:
        with self._lock:
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version >= len(MIGRATIONS):
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                # Re-read inside the write lock: another process may have migrated meanwhile.
                version = self._conn.execute("PRAGMA user_version").fetchone()[0]
                for i in range(version, len(MIGRATIONS)):
                    for statement in MIGRATIONS[i].split(";"):
                        if statement.strip():
                            self._conn.execute(statement)
                    self._conn.execute(f"PRAGMA user_version = {i + 1}")
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        return self._conn.execute("PRAGMA user_version").fetchone()[0]

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE). Everything inside commits or nothing does.
        When it appended events, readers are woken right after the commit (store.notify)."""
        with self._lock, _mapped(self.path):
            self._conn.execute("BEGIN IMMEDIATE")
            self._appended = False
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                self._appended = False
                if self._conn.in_transaction:  # a failed COMMIT (disk full) leaves it open
                    self._conn.execute("ROLLBACK")
                raise
            appended, self._appended = self._appended, False
        if appended:
            notify.wake(self.path)

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        with self._lock, _mapped(self.path):
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- events ---------------------------------------------------------------------------
    def append_event(
        self,
        kind: str,
        *,
        agent: str | None = None,
        run_id: str | None = None,
        step: str | None = None,
        correlation_id: str | None = None,
        data: dict[str, Any] | None = None,
        conn: sqlite3.Connection | None = None,
    ) -> Event:
        """Append one event. Pass `conn` to make it part of an open transaction."""
        ts = now_iso()
        payload = _EVENT_JSON(data or {})
        params = (ts, kind, self.workspace, agent, run_id, step, correlation_id or run_id, payload)
        sql = (
            "INSERT INTO events (ts, kind, workspace, agent, run_id, step, correlation_id, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        if conn is not None:
            seq = conn.execute(sql, params).lastrowid
            if conn.in_transaction:
                self._appended = True  # woken by transaction() after its commit
            else:
                notify.wake(self.path)  # an autocommit insert: already committed
        else:
            with self.transaction() as c:
                seq = c.execute(sql, params).lastrowid
                self._appended = True
        return Event(seq, ts, kind, self.workspace, agent, run_id, step, correlation_id or run_id, data or {})

    def read_events(
        self,
        after_seq: int = 0,
        *,
        limit: int = 1000,
        kinds: list[str] | None = None,
        kind_prefix: str | None = None,
        run_id: str | None = None,
        agent: str | None = None,
        since_ts: str | None = None,
    ) -> list[Event]:
        """Events with seq > after_seq in seq order, optionally filtered."""
        where, params = ["seq > ?"], [after_seq]
        if kinds:
            where.append(f"kind IN ({','.join('?' * len(kinds))})")
            params.extend(kinds)
        if kind_prefix:
            where.append("kind LIKE ?")
            params.append(kind_prefix.replace("%", "") + "%")
        if run_id:
            where.append("run_id = ?")
            params.append(run_id)
        if agent:
            where.append("agent = ?")
            params.append(agent)
        if since_ts:
            where.append("ts > ?")
            params.append(since_ts)
        sql = f"SELECT * FROM events WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?"
        params.append(limit)
        return [Event.from_row(r) for r in self.query(sql, tuple(params))]

    def latest_seq(self) -> int:
        row = self.query("SELECT MAX(seq) FROM events")[0]
        return row[0] or 0


def durability() -> str:
    """`TUTTI_DURABILITY`: `process` (the default) or `power`."""
    value = os.environ.get(DURABILITY_ENV, "").strip().lower() or "process"
    if value not in SYNCHRONOUS:
        raise StoreError(f"{DURABILITY_ENV}={value!r} is not a durability level",
                         hint=f"set {DURABILITY_ENV} to 'process' (commits survive a killed tt; the default) "
                              "or 'power' (also an OS crash or power cut: one fsync per commit), or unset it")
    return value


def disk_trouble(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "disk is full" in text or "disk i/o error" in text


def disk_error(path: Path, exc: sqlite3.Error) -> StoreError:
    """A full (or failing) disk under the store: one clear line; what was committed stays."""
    import shutil

    try:
        free = f"{shutil.disk_usage(path.parent).free // 1024} KiB free"
    except OSError:
        free = "free space unknown"
    return StoreError(f"cannot write store {path}: {exc} ({free} on its disk)",
                      hint="free disk space and retry (an interrupted run continues with `tt run --resume RUN_ID`); "
                           "everything committed before is kept")


def readonly_trouble(exc: sqlite3.Error) -> bool:
    """SQLite refused to write: the file, its directory (no room for -wal/-shm) or the mount is read-only."""
    text = str(exc).lower()
    return "readonly database" in text or "read-only" in text or "unable to open database file" in text


def readonly_error(path: Path, exc: sqlite3.Error) -> StoreError:
    """A store that cannot be written (a read-only `.tutti/`, file or mount): one line naming the
    path and how to make it writable; nothing committed before is lost."""
    where = f"{path.parent.name}/{path.name}"
    return StoreError(f"cannot write the workspace store ({where}): {exc}",
                      hint=f"make {path.parent.name}/ and the files in it writable by you: {path.parent} "
                           "(chmod -R u+w, chattr -R -i, or remount its disk read-write)")


@contextmanager
def _mapped(path: Path) -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        if disk_trouble(exc):
            raise disk_error(path, exc) from None
        if readonly_trouble(exc):
            raise readonly_error(path, exc) from None
        raise


def store_path(root: Path) -> Path:
    return root / ".tutti" / DB_FILENAME


def open_store(root: Path, workspace: str | None = None) -> Store:
    return Store(store_path(root), workspace=workspace)
