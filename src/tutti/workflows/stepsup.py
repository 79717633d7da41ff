"""The step supervisor: one small process per command-step try that outlives `tt`.

`tt` starts it (`python -I -S stepsup.py`, in a session of its own) and hands it a JSON spec on
stdin. It claims its row in the store's `step_attempts` table, runs the command in a process
group of its own, streams both output streams to the step log (capped), enforces the timeout,
and commits the outcome (exit code, timed_out, cancelled, output tail) in one transaction. So
when the `tt` that started it is SIGKILLed — alone, with its process group, or with `tt serve` —
the command is neither orphaned nor repeated: `tt run --resume` finds the row, waits for a
supervisor that is still running (identified by pid *and* start time) or adopts the outcome it
recorded.

The claim is a fence: the engine inserts the row as `spawning` before starting the supervisor,
and the supervisor runs the command only if it turns `spawning` into `running`. A resume that
finds a `spawning` row turns it into `abandoned` first; SQLite's write lock lets exactly one of
the two win, so two tries of one step never run at once.

Standard library only, and no `site` import (the `-S` flag): it starts in a few milliseconds.
SIGTERM means cancel: the command's group gets SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import sys
import time
from datetime import datetime, timezone

KEY = "run_id = ? AND step_index = ? AND attempt = ? AND try_no = ?"
LOG_CAP_BYTES = 32 << 20
TAIL_BYTES = 8192
TAIL_CHARS = 2000
KILL_GRACE_SECS = 2.0
DRAIN_AFTER_EXIT_SECS = 5.0  # a backgrounded grandchild may hold the pipes open
EXIT_ABANDONED = 3  # the fence was lost: a resume took this try over before it started


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")  # noqa: UP017


def start_ticks(pid: int) -> int | None:
    """Start time in clock ticks since boot (as `tutti.proctree.start_ticks`; no imports here)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            raw = fh.read()
    except OSError:
        return None
    return int(raw[raw.rfind(")") + 2:].split()[19])


def connect(db_path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(db_path, timeout=15, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 15000")
    conn.execute("PRAGMA synchronous = NORMAL")  # as the Store: WAL keeps commits across a process crash
    return conn


def write(conn: sqlite3.Connection, sql: str, params: tuple, *, retry_secs: float = 0) -> int:
    """One statement in its own BEGIN IMMEDIATE transaction; returns the rows changed.
    `retry_secs`: keep trying that long (the outcome row must not be lost to a busy disk)."""
    deadline = time.monotonic() + retry_secs
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                changed = conn.execute(sql, params).rowcount
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return changed
        except sqlite3.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


class Log:
    """The step log: both streams interleaved, first 32 MiB kept."""

    def __init__(self, path: str) -> None:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError:  # e.g. a full disk: run the command anyway, without a log
            self.fd = os.open(os.devnull, os.O_WRONLY)
        self.written = 0
        self.capped = False

    def header(self, text: str) -> None:
        self.write(f"--- {now_iso()} {text} ---\n".encode())

    def write(self, data: bytes) -> None:
        # Best effort: a full disk must not kill the supervisor (the outcome row matters more).
        try:
            if self.written >= LOG_CAP_BYTES:
                if not self.capped:
                    os.write(self.fd, b"\n[tutti: log capped at 32 MiB; further output not stored]\n")
                    self.capped = True
                return
            chunk = data[: LOG_CAP_BYTES - self.written]
            os.write(self.fd, chunk)
            self.written += len(chunk)
        except OSError:
            self.written = LOG_CAP_BYTES
            self.capped = True


def spawn(spec: dict) -> tuple[int, int, int]:
    """fork + setsid + exec `argv` in `cwd` with `env`; returns (pid, stdout fd, stderr fd)."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: single-threaded parent, so fork is safe here
        try:
            os.setsid()
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for fd in (devnull, out_r, out_w, err_r, err_w):
                if fd > 2:
                    os.close(fd)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, signal.SIG_DFL)
            os.chdir(spec["cwd"])
            os.execve(spec["argv"][0], spec["argv"], spec["env"])
        except BaseException as exc:  # exec failed: say why in the step log, exit like a shell
            os.write(2, f"tutti: cannot start {spec['argv'][0]}: {exc}\n".encode())
        os._exit(127)
    os.close(out_w)
    os.close(err_w)
    return pid, out_r, err_r


class Run:
    """One command run to completion (or timeout / cancel)."""

    def __init__(self, spec: dict, log: Log) -> None:
        self.spec, self.log = spec, log
        self.cancelled = False
        self.timed_out = False
        self.tails = {1: bytearray(), 2: bytearray()}

    def on_term(self, _signo, _frame) -> None:
        self.cancelled = True

    def run(self, pid: int, fds: dict[int, int]) -> int | None:
        """Drain the pipes, watch timeout and cancel; returns the child's wait status."""
        timeout = self.spec.get("timeout")
        deadline = time.monotonic() + timeout if timeout else None
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN | select.POLLHUP)
        status: int | None = None
        exited_at: float | None = None
        while fds:
            for fd, _ev in poller.poll(100):
                data = os.read(fd, 65536)
                if not data:
                    poller.unregister(fd)
                    fds.pop(fd)
                    continue
                self.log.write(data)
                tail = self.tails[fds[fd]]
                tail += data
                del tail[:-TAIL_BYTES]
            if status is None:
                done, wstatus = os.waitpid(pid, os.WNOHANG)
                if done:
                    status, exited_at = wstatus, time.monotonic()
            if status is None and (self.cancelled or (deadline is not None and time.monotonic() >= deadline)):
                self.timed_out = not self.cancelled
                status, exited_at = self._terminate(pid), time.monotonic()
            if exited_at is not None and time.monotonic() - exited_at > DRAIN_AFTER_EXIT_SECS:
                self._killpg(pid, signal.SIGKILL)
                break
        if status is None:
            status = os.waitpid(pid, 0)[1]
        if self.cancelled or self.timed_out:
            self._killpg(pid, signal.SIGKILL)
        return status

    def _terminate(self, pid: int) -> int:
        """SIGTERM the group, SIGKILL it after the grace period; returns the wait status."""
        self._killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + KILL_GRACE_SECS
        while time.monotonic() < deadline:
            done, wstatus = os.waitpid(pid, os.WNOHANG)
            if done:
                self._killpg(pid, signal.SIGKILL)
                return wstatus
            time.sleep(0.05)
        self._killpg(pid, signal.SIGKILL)
        return os.waitpid(pid, 0)[1]

    @staticmethod
    def _killpg(pid: int, sig: int) -> None:
        try:
            os.killpg(pid, sig)
        except OSError:
            pass

    def tail(self) -> str:
        parts = [bytes(self.tails[n]).decode("utf-8", "replace")[-TAIL_CHARS:] for n in (1, 2)]
        return "\n".join(p for p in parts if p.strip())[-TAIL_CHARS:]


def main() -> int:
    spec = json.loads(sys.stdin.buffer.read())
    os.close(0)
    key = (spec["run_id"], spec["step_index"], spec["attempt"], spec["try_no"])
    conn = connect(spec["db"])
    me = os.getpid()
    claimed = write(conn, f"UPDATE step_attempts SET state = 'running', sup_pid = ?, sup_start = ?, started_at = ? "
                          f"WHERE {KEY} AND state = 'spawning'", (me, start_ticks(me), now_iso(), *key))
    if not claimed:
        return EXIT_ABANDONED
    log = Log(spec["log_path"])
    run = Run(spec, log)
    signal.signal(signal.SIGTERM, run.on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    log.header(spec["header"])
    pid, out_fd, err_fd = spawn(spec)
    write(conn, f"UPDATE step_attempts SET child_pid = ?, child_start = ? WHERE {KEY}",
          (pid, start_ticks(pid), *key), retry_secs=30)
    status = run.run(pid, {out_fd: 1, err_fd: 2})
    code = os.waitstatus_to_exitcode(status) if status is not None else None
    if code is not None and code < 0:
        code = 128 - code  # killed by a signal: report it the way a shell would
    log.header(f"exit {code}{' (timed out)' if run.timed_out else ''}{' (cancelled)' if run.cancelled else ''}")
    write(conn, f"UPDATE step_attempts SET state = 'finished', exit_code = ?, timed_out = ?, cancelled = ?, "
                f"output_tail = ?, finished_at = ? WHERE {KEY}",
          (code, int(run.timed_out), int(run.cancelled), run.tail(), now_iso(), *key), retry_secs=600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
