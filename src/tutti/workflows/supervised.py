"""The engine's side of the step supervisor (`stepsup.py`): start a try, wait for it, adopt it.

A try is one run of a command step's command, keyed (run_id, step_index, attempt, try_no):
`attempt` is the step's engine attempt (2 after one resume), `try_no` counts `[resilience]`
retries within it. Its row in `step_attempts` goes `spawning` → `running` → `finished`; or
`abandoned` (a resume fenced it off before its supervisor claimed it) or `lost` (its supervisor
died without recording an outcome; the command's group was killed before anything re-ran).
A supervisor is identified by pid *and* process start time, never by pid alone.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti import proc, proctree
from tutti.errors import TuttiError
from tutti.store.db import now_iso
from tutti.workflows import stepsup

if TYPE_CHECKING:
    import threading

    from tutti.store.db import Store

SUPERVISOR = Path(stepsup.__file__)
POLL_SECS = 0.2
STUCK_SECS = 2.0


@dataclass(frozen=True)
class TryKey:
    run_id: str
    step_index: int
    attempt: int
    try_no: int

    def params(self) -> tuple:
        return (self.run_id, self.step_index, self.attempt, self.try_no)


def row(store: Store, key: TryKey) -> dict[str, Any] | None:
    rows = store.query(f"SELECT * FROM step_attempts WHERE {stepsup.KEY}", key.params())
    return dict(rows[0]) if rows else None


def latest(store: Store, run_id: str, step_index: int, since_attempt: int = 1) -> dict[str, Any] | None:
    """The newest try of a step from attempt `since_attempt` on, or None."""
    rows = store.query("SELECT * FROM step_attempts WHERE run_id = ? AND step_index = ? AND attempt >= ? "
                       "ORDER BY attempt DESC, try_no DESC LIMIT 1", (run_id, step_index, since_attempt))
    return dict(rows[0]) if rows else None


def supervisor_alive(r: dict[str, Any]) -> bool:
    pid, started = r.get("sup_pid"), r.get("sup_start")
    return bool(pid) and proctree.running(pid) and proctree.start_ticks(pid) == started


def start(store: Store, key: TryKey, *, argv: list[str], cwd: Path, env: dict[str, str], timeout: float | None,
          log_path: Path, header: str) -> Any:
    """Record the try as `spawning`, then start its supervisor (own session; outlives `tt`)."""
    with store.transaction() as conn:
        conn.execute("INSERT INTO step_attempts (run_id, step_index, attempt, try_no, state, log_path, created_at) "
                     "VALUES (?, ?, ?, ?, 'spawning', ?, ?)", (*key.params(), str(log_path), now_iso()))
    spec = {"db": str(store.path), "run_id": key.run_id, "step_index": key.step_index, "attempt": key.attempt,
            "try_no": key.try_no, "argv": argv, "cwd": str(cwd), "env": env, "timeout": timeout,
            "log_path": str(log_path), "header": header}
    return proc.start_detached([sys.executable, "-I", "-S", str(SUPERVISOR)], json.dumps(spec).encode(),
                               env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})


def wait(store: Store, key: TryKey, cancel: threading.Event, child: Any = None) -> dict[str, Any]:
    """Block until the try is over; returns its final row. `child`: the Popen when we started it.
    Cancel sends SIGTERM to the supervisor, which stops the command and records `cancelled`."""
    exited = _ExitWaiter(child)
    try:
        return _wait(store, key, cancel, child, exited)
    finally:
        exited.close()


def _wait(store: Store, key: TryKey, cancel: threading.Event, child: Any, exited: _ExitWaiter) -> dict[str, Any]:
    signalled = False
    stuck_since: float | None = None
    while True:
        exited(0.25)
        r = row(store, key)
        if r is None:
            raise TuttiError(f"step supervisor record {key} vanished from {store.path}")
        if r["state"] == "finished":
            return r
        gone = (child.poll() is not None) if child is not None else (r["state"] == "running" and not supervisor_alive(r))
        if gone:
            r = row(store, key) or r  # it may have committed just before exiting
            if r["state"] == "finished":
                return r
            if r["state"] in ("spawning", "abandoned"):
                fence(store, key)
                raise TuttiError("step supervisor did not start (its claim was fenced off)",
                                 hint="see the step log; resume the run to try again")
            return mark_lost(store, key, r)
        if cancel.is_set() and not signalled and r["state"] == "running" and supervisor_alive(r):
            os.kill(r["sup_pid"], signal.SIGTERM)
            signalled = True
        stuck_since = _check_recordable(store, r, stuck_since)
        if child is None:
            cancel.wait(POLL_SECS) if not cancel.is_set() else time.sleep(POLL_SECS)


def _check_recordable(store: Store, r: dict[str, Any], stuck_since: float | None) -> float | None:
    """The command is over but its supervisor has not recorded the outcome for a while: on a full
    disk it keeps retrying (and records it once space is freed; a resume adopts it) — say so now
    instead of waiting silently."""
    import shutil

    from tutti.store.db import disk_error

    pid = r.get("child_pid")
    if r["state"] != "running" or not pid or (proctree.running(pid) and proctree.start_ticks(pid) == r.get("child_start")):
        return None
    now = time.monotonic()
    if stuck_since is None:
        return now
    if now - stuck_since > STUCK_SECS and shutil.disk_usage(store.path.parent).free < 64 << 10:
        raise disk_error(store.path, OSError("database or disk is full: the step's command finished, its outcome "
                                             "is kept by its supervisor until space is freed"))
    return stuck_since


class _ExitWaiter:
    """`wait(timeout)` that returns the moment the supervisor exits: a pidfd where Linux has one
    (Popen's own timed wait polls with growing sleeps, up to 50 ms late — on every step)."""

    def __init__(self, child: Any) -> None:
        import select

        self.child, self.fd, self.poller = child, None, None
        if child is None:
            return
        try:
            self.fd = os.pidfd_open(child.pid)
        except (AttributeError, OSError):
            return
        self.poller = select.poll()
        self.poller.register(self.fd, select.POLLIN)

    def __call__(self, timeout: float) -> None:
        if self.child is None or self.child.returncode is not None:
            return
        if self.poller is not None:
            if self.poller.poll(timeout * 1000):
                self.child.wait()
            return
        try:
            self.child.wait(timeout=timeout)
        except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired: still running
            pass

    def close(self) -> None:
        """Reap the supervisor (it exits right after committing its row) and release the pidfd."""
        if self.child is not None and self.child.returncode is None:
            try:
                self.child.wait(timeout=30)
            except Exception:  # noqa: BLE001 - left to Popen's own reaping
                pass
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def fence(store: Store, key: TryKey) -> bool:
    """Turn a `spawning` try into `abandoned`; True if it will never run (its supervisor lost)."""
    with store.transaction() as conn:
        changed = conn.execute(f"UPDATE step_attempts SET state = 'abandoned', finished_at = ? "
                               f"WHERE {stepsup.KEY} AND state = 'spawning'", (now_iso(), *key.params())).rowcount
    return bool(changed)


def mark_lost(store: Store, key: TryKey, r: dict[str, Any]) -> dict[str, Any]:
    """The supervisor died without an outcome: kill what is left of the command (by start time),
    so a later try never runs beside it, and record the try as `lost`."""
    pid, started = r.get("child_pid"), r.get("child_start")
    if pid and proctree.start_ticks(pid) == started:
        proc.kill_group(pid, signal.SIGKILL)
    with store.transaction() as conn:
        conn.execute(f"UPDATE step_attempts SET state = 'lost', finished_at = ? WHERE {stepsup.KEY} "
                     "AND state != 'finished'", (now_iso(), *key.params()))
    return row(store, key) or {**r, "state": "lost"}


def settle_inflight(store: Store, run_id: str, step_index: int, since_attempt: int,
                    cancel: threading.Event) -> dict[str, Any] | None:
    """On resume: the newest try of a step that was in flight when `tt` died, once it is over.
    Waits for a live supervisor; fences off one that never started. Returns the finished row to
    adopt, or None when nothing finished (nothing ran, or the try was lost)."""
    r = latest(store, run_id, step_index, since_attempt)
    if r is None:
        return None
    key = TryKey(run_id, step_index, r["attempt"], r["try_no"])
    if r["state"] == "spawning" and not fence(store, key):
        r = row(store, key) or r  # its supervisor claimed it a moment ago
    if r["state"] == "running":
        r = wait(store, key, cancel)
    return r if r["state"] == "finished" else None
