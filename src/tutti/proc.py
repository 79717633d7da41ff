"""The one place Tutti starts child processes.

Rules it enforces for every caller:
- argument lists, or `/bin/sh -c` of a string that came from the user's own config — never a
  shell string assembled from input;
- stdout and stderr are drained by threads while the child runs, so a child printing 50 MB
  never blocks on a full pipe;
- every child runs in its own process group, and a timeout kills the whole group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Sink = Callable[[bytes], None] | None
DEFAULT_CAPTURE_BYTES = 1 << 20  # keep the last 1 MiB of each stream
KILL_GRACE_SECS = 2.0


@dataclass
class ProcResult:
    argv: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration_secs: float
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


@dataclass
class _Tail:
    """Keeps the last `limit` bytes of a stream and counts the total."""

    limit: int
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    total: int = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        self.chunks.append(data)
        self.size += len(data)
        while self.size > self.limit and len(self.chunks) > 1:
            self.size -= len(self.chunks.pop(0))

    def text(self) -> str:
        data = b"".join(self.chunks)
        if len(data) > self.limit:
            data = data[-self.limit :]
        return data.decode("utf-8", errors="replace")


def _drain(stream, tail: _Tail, sink: Callable[[bytes], None] | None) -> None:
    try:
        while True:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            if not chunk:
                break
            tail.add(chunk)
            if sink is not None:
                sink(chunk)
    finally:
        stream.close()


def shell_argv(command: str) -> list[str]:
    """argv that runs a configured command string with the POSIX shell (not a login shell)."""
    return ["/bin/sh", "-c", command]


def kill_group(pid: int, sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run(
    argv: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    input: bytes | str | None = None,
    capture_bytes: int = DEFAULT_CAPTURE_BYTES,
    on_stdout: Callable[[bytes], None] | None = None,
    on_stderr: Callable[[bytes], None] | None = None,
    cancel: threading.Event | None = None,
    on_tick: Callable[[], None] | None = None,
) -> ProcResult:
    """Run a child to completion (or timeout/cancel), draining its output as it goes.

    `env` replaces the environment entirely when given; callers merge with os.environ
    themselves so what a child sees is explicit. `on_tick` (without `input`) is called in this
    thread at least every ~50 ms while the child runs, e.g. to flush a buffered log.
    """
    argv = [str(a) for a in argv]
    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=str(cwd) if cwd is not None else None,
        env=dict(env) if env is not None else None,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    out, err = _Tail(capture_bytes), _Tail(capture_bytes)
    if input is None:
        timed_out = _Drainer(proc, (out, on_stdout), (err, on_stderr), on_tick).run(
            started + timeout if timeout else None, cancel)
        return _result(argv, proc, out, err, timed_out, started, capture_bytes)
    threads = [
        threading.Thread(target=_drain, args=(proc.stdout, out, on_stdout), daemon=True),
        threading.Thread(target=_drain, args=(proc.stderr, err, on_stderr), daemon=True),
    ]
    for t in threads:
        t.start()
    if input is not None:
        _feed(proc, input)
    timed_out = _wait(proc, started + timeout if timeout else None, cancel)
    # The group may still hold the pipes open (a backgrounded grandchild); kill it so the
    # drain threads see EOF instead of waiting forever.
    if timed_out or (cancel is not None and cancel.is_set()):
        kill_group(proc.pid, signal.SIGKILL)
    for t in threads:
        t.join(timeout=5)
        if t.is_alive():
            kill_group(proc.pid, signal.SIGKILL)
            t.join(timeout=5)
    return _result(argv, proc, out, err, timed_out, started, capture_bytes)


def _result(argv: list[str], proc: subprocess.Popen, out: _Tail, err: _Tail, timed_out: bool, started: float,
            capture_bytes: int) -> ProcResult:
    return ProcResult(argv=argv, returncode=proc.returncode, stdout=out.text(), stderr=err.text(),
                      timed_out=timed_out, duration_secs=time.monotonic() - started, stdout_bytes=out.total,
                      stderr_bytes=err.total, truncated=out.total > capture_bytes or err.total > capture_bytes)


class _Drainer:
    """Drains both pipes and waits for the exit in the calling thread, on one poll(): the
    child's stdout, its stderr and a pidfd. No drain threads — starting two threads cost a
    third of a short child's whole run (a `true` command step, a tmux or git helper).
    Same rules as the threaded path: output is consumed while the child runs; on timeout or
    cancel the group gets SIGTERM, then SIGKILL after KILL_GRACE_SECS; after the exit, pipes a
    backgrounded grandchild still holds are read for up to PIPE_GRACE_SECS, then its group is
    killed."""

    PIPE_GRACE_SECS = 5.0
    TICK = 0.05  # how often cancel and the deadline are looked at

    def __init__(self, proc: subprocess.Popen, out: tuple[_Tail, Sink], err: tuple[_Tail, Sink],
                 on_tick: Callable[[], None] | None = None) -> None:
        import select

        self.proc, self.on_tick = proc, on_tick
        self.poller = select.poll()
        self.streams: dict[int, tuple[Any, _Tail, Sink]] = {}
        for stream, (tail, sink) in ((proc.stdout, out), (proc.stderr, err)):
            self.streams[stream.fileno()] = (stream, tail, sink)
            self.poller.register(stream.fileno(), select.POLLIN)
        self.exited = _exit_waiter(proc)
        if self.exited is not None and self.exited.fd is not None:
            self.poller.register(self.exited.fd, select.POLLIN)
        self.kill_at: float | None = None  # SIGTERM sent: when SIGKILL follows
        self.stop_reading_at: float | None = None  # child gone, pipes still open: when to give up
        self.group_killed = False

    def run(self, deadline: float | None, cancel: threading.Event | None) -> bool:
        timed_out = stopping = False
        try:
            while self.streams or self.proc.returncode is None:
                self._poll_once()
                if self.on_tick is not None:
                    self.on_tick()
                now = time.monotonic()
                if self.proc.returncode is None:
                    if not stopping and ((cancel is not None and cancel.is_set())
                                         or (deadline is not None and now >= deadline)):
                        timed_out, stopping = not (cancel is not None and cancel.is_set()), True
                        kill_group(self.proc.pid, signal.SIGTERM)
                        self.kill_at = now + KILL_GRACE_SECS
                    elif self.kill_at is not None and now >= self.kill_at:
                        kill_group(self.proc.pid, signal.SIGKILL)
                        self.kill_at = float("inf")
                elif stopping or (cancel is not None and cancel.is_set()):
                    kill_group(self.proc.pid, signal.SIGKILL)  # nothing of a stopped group lingers
                    stopping, cancel = False, None
                elif self.streams:
                    self._pipes_outlive_child(now)
        finally:
            self._close()
        return timed_out

    def _poll_once(self) -> None:
        wait = self.TICK if self.exited is not None or self.proc.returncode is not None else 0.002
        for fd, _ in self.poller.poll(wait * 1000):
            if fd in self.streams:
                stream, tail, sink = self.streams[fd]
                chunk = os.read(fd, 65536)
                if chunk:
                    tail.add(chunk)
                    if sink is not None:
                        sink(chunk)
                else:
                    self.poller.unregister(fd)
                    del self.streams[fd]
                    stream.close()
            elif self.exited is not None:  # the pidfd: the child has exited
                self.poller.unregister(fd)
                self.exited.close()
        if self.proc.returncode is None and (self.exited is None or self.exited.fd is None):
            self.proc.poll()

    def _pipes_outlive_child(self, now: float) -> None:
        """A grandchild still holds the pipes: read on for PIPE_GRACE_SECS, then kill the
        group and read for as long again, then stop reading."""
        if self.stop_reading_at is None:
            self.stop_reading_at = now + self.PIPE_GRACE_SECS
        elif now >= self.stop_reading_at:
            if self.group_killed:
                self._close()
                return
            kill_group(self.proc.pid, signal.SIGKILL)
            self.group_killed, self.stop_reading_at = True, now + self.PIPE_GRACE_SECS

    def _close(self) -> None:
        if self.proc.returncode is None:  # an exception (e.g. from a sink) left it running
            kill_group(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for stream, _, _ in self.streams.values():
            stream.close()
        self.streams.clear()
        if self.exited is not None:
            self.exited.close()



def _feed(proc: subprocess.Popen, input: bytes | str) -> None:
    data = input.encode() if isinstance(input, str) else input
    try:
        proc.stdin.write(data)
    except BrokenPipeError:
        pass
    finally:
        proc.stdin.close()


def _wait(proc: subprocess.Popen, deadline: float | None, cancel: threading.Event | None) -> bool:
    """Wait for the child to exit; terminate it on cancel or at `deadline`. True when it timed out.
    On Linux a pidfd wakes us the moment the child exits (Popen.wait(timeout) polls with sleeps
    that double from 0.5 ms — a few ms lost on every short helper like tmux or git)."""
    exited = _exit_waiter(proc)
    try:
        return _wait_loop(proc, exited, deadline, cancel)
    finally:
        if exited is not None:
            exited.close()


def _wait_loop(proc: subprocess.Popen, exited: _ExitWaiter | None, deadline: float | None,
               cancel: threading.Event | None) -> bool:
    while True:
        try:
            if exited is not None:
                if exited(0.05):
                    proc.wait()
                    return False
            else:
                proc.wait(timeout=0.05)
                return False
        except subprocess.TimeoutExpired:
            pass
        if cancel is not None and cancel.is_set():
            _terminate(proc)
            return False
        if deadline is not None and time.monotonic() >= deadline:
            _terminate(proc)
            return True


class _ExitWaiter:
    """`waiter(seconds) -> True once the child has exited`, via a pidfd (Linux ≥ 5.3)."""

    def __init__(self, pid: int) -> None:
        import select

        self.fd: int | None = os.pidfd_open(pid)
        self._poller = select.poll()
        self._poller.register(self.fd, select.POLLIN)

    def __call__(self, seconds: float) -> bool:
        if self._poller.poll(seconds * 1000):
            self.close()
            return True
        return False

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)


def _exit_waiter(proc: subprocess.Popen) -> _ExitWaiter | None:
    try:
        return _ExitWaiter(proc.pid)
    except (AttributeError, OSError):  # no pidfd here: fall back to Popen.wait's polling
        return None


def _terminate(proc: subprocess.Popen) -> None:
    kill_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=KILL_GRACE_SECS)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid, signal.SIGKILL)
        proc.wait()


def check_output(argv: Sequence[str], *, cwd: Path | str | None = None, timeout: float = 60,
                 env: Mapping[str, str] | None = None, input: str | None = None) -> str:
    """Run a short helper command (git, tmux, gh) and return stdout; raise on failure."""
    res = run(argv, cwd=cwd, timeout=timeout, env=env, input=input)
    if not res.ok:
        raise CommandFailed(res)
    return res.stdout


class CommandFailed(Exception):
    """A helper command exited non-zero; callers map it to a TuttiError with context."""

    def __init__(self, result: ProcResult) -> None:
        detail = (result.stderr.strip() or result.stdout.strip()).splitlines()
        tail = detail[-1] if detail else ""
        what = "timed out" if result.timed_out else f"exit {result.returncode}"
        super().__init__(f"{' '.join(result.argv)} ({what}): {tail}")
        self.result = result


class Spawned:
    """A long-lived child (e.g. a `tmux -C` control client) whose stdin we keep open.

    stdout is read line by line on a daemon thread and handed to `on_line`; stderr is drained
    and kept (last 64 KiB). `stop()` kills the whole process group.
    """

    def __init__(self, popen: subprocess.Popen, on_line: Callable[[bytes], None],
                 on_exit: Callable[[], None] | None) -> None:
        self.popen = popen
        self.pid = popen.pid
        self._on_line = on_line
        self._on_exit = on_exit
        self._err = _Tail(1 << 16)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._err_reader = threading.Thread(target=_drain, args=(popen.stderr, self._err, None), daemon=True)
        self._reader.start()
        self._err_reader.start()

    def _read(self) -> None:
        try:
            for line in self.popen.stdout:
                self._on_line(line)
        except (ValueError, OSError):
            pass  # stream closed by stop()
        finally:
            if self._on_exit is not None:
                self._on_exit()

    def write(self, data: bytes) -> bool:
        """Write to the child's stdin; False if it is gone."""
        try:
            self.popen.stdin.write(data)
            self.popen.stdin.flush()
            return True
        except (BrokenPipeError, ValueError, OSError):
            return False

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def stderr(self) -> str:
        return self._err.text()

    def stop(self, timeout: float = KILL_GRACE_SECS) -> None:
        if self.popen.poll() is None:
            kill_group(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_group(self.pid, signal.SIGKILL)
                self.popen.wait()
        for stream in (self.popen.stdin,):
            try:
                stream.close()
            except OSError:
                pass
        self._reader.join(timeout=2)


def spawn(argv: Sequence[str], *, on_line: Callable[[bytes], None], on_exit: Callable[[], None] | None = None,
          cwd: Path | str | None = None, env: Mapping[str, str] | None = None) -> Spawned:
    """Start a child that runs until stopped, in its own process group, stdin held open."""
    popen = subprocess.Popen(
        [str(a) for a in argv],
        cwd=str(cwd) if cwd is not None else None,
        env=dict(env) if env is not None else None,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    return Spawned(popen, on_line, on_exit)


def start_detached(argv: Sequence[str], stdin_data: bytes, *, env: Mapping[str, str] | None = None,
                   cwd: Path | str | None = None) -> subprocess.Popen:
    """Start a child that must outlive us (a step supervisor): its own session, so neither a
    kill of our process group nor our death reaches it; `stdin_data` is written and stdin
    closed; its stdout/stderr go to /dev/null (nobody may be left to read them)."""
    popen = subprocess.Popen([str(a) for a in argv], cwd=str(cwd) if cwd is not None else None,
                             env=dict(env) if env is not None else None, stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        popen.stdin.write(stdin_data)
    except BrokenPipeError:
        pass
    finally:
        try:
            popen.stdin.close()
        except BrokenPipeError:
            pass
    return popen


def terminate_tree(pids: list[int], *, grace_secs: float = KILL_GRACE_SECS) -> None:
    """SIGTERM every pid, then SIGKILL what is still alive after `grace_secs`.

    For processes that outlive their session: some agent CLIs (Node-based ones) ignore the
    SIGHUP tmux sends when a session is killed and would linger as orphans."""
    from tutti.proctree import running

    alive = [pid for pid in pids if _signal(pid, signal.SIGTERM)]
    deadline = time.monotonic() + grace_secs
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [pid for pid in alive if running(pid)]
    for pid in alive:
        _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: int) -> bool:
    try:
        os.kill(pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False

