import time

from tutti import proc
from tutti.proctree import running


def test_large_output_is_drained_without_hanging():
    # 50 MB on stdout: a runner that reads only after exit would deadlock on the pipe.
    res = proc.run(proc.shell_argv("head -c 52428800 /dev/zero"), timeout=60)
    assert res.ok
    assert res.stdout_bytes == 52428800
    assert res.truncated and len(res.stdout) <= proc.DEFAULT_CAPTURE_BYTES


def test_timeout_kills_the_whole_process_group(tmp_path):
    pidfile = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {pidfile}; wait"
    started = time.monotonic()
    res = proc.run(proc.shell_argv(script), timeout=1)
    assert res.timed_out and not res.ok
    assert time.monotonic() - started < 10
    child = int(pidfile.read_text())
    time.sleep(0.2)
    assert not running(child), "grandchild survived the timeout"


def test_stderr_and_exit_code_are_reported():
    res = proc.run(proc.shell_argv("echo out; echo err >&2; exit 3"))
    assert res.returncode == 3
    assert res.stdout.strip() == "out" and res.stderr.strip() == "err"


def test_input_is_fed_to_stdin():
    assert proc.run(["cat"], input="hello").stdout == "hello"


def test_output_reaches_the_sinks_while_the_child_runs():
    seen: list[bytes] = []
    res = proc.run(proc.shell_argv("echo one; sleep 0.2; echo two >&2"), on_stdout=seen.append,
                   on_stderr=seen.append)
    assert res.ok and b"".join(seen) == b"one\ntwo\n"


def test_cancel_stops_the_child_and_its_group(tmp_path):
    import threading

    pidfile = tmp_path / "child.pid"
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    res = proc.run(proc.shell_argv(f"sleep 60 & echo $! > {pidfile}; wait"), cancel=cancel)
    assert not res.ok and not res.timed_out
    assert time.monotonic() - started < 5
    time.sleep(0.2)
    assert not running(int(pidfile.read_text()))


def test_a_grandchild_holding_the_pipes_is_killed_after_the_grace(tmp_path, monkeypatch):
    # The child exits at once; its backgrounded grandchild keeps stdout open. The runner reads
    # on for the grace, then kills the group instead of waiting for the grandchild.
    monkeypatch.setattr(proc._Drainer, "PIPE_GRACE_SECS", 0.3)
    pidfile = tmp_path / "grandchild.pid"
    started = time.monotonic()
    res = proc.run(proc.shell_argv(f"echo hi; sleep 60 & echo $! > {pidfile}"))
    assert res.returncode == 0 and res.stdout == "hi\n"
    assert time.monotonic() - started < 5
    time.sleep(0.2)
    assert not running(int(pidfile.read_text()))
