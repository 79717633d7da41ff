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
