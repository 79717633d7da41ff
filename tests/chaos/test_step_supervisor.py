"""The step supervisor on its own: the spawning fence, a supervisor that dies, cancel, timeout,
output, and which processes `kill_orphans` leaves alone. Real processes, real SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from tests.helpers import wait_until

from tutti import proc, proctree
from tutti.ops import run as ops
from tutti.workflows import stepsup, supervised
from tutti.workflows.orphans import find_orphans
from tutti.workflows.supervised import TryKey


@pytest.fixture
def ws(git_repo):
    from tutti.workspace import load_workspace_at

    (git_repo / "tutti.toml").write_text('[workspace]\nname = "sup"\n')
    return load_workspace_at(git_repo)


def _start(ws, key: TryKey, command: str, *, timeout: float | None = None, env: dict | None = None):
    return supervised.start(ws.store, key, argv=proc.shell_argv(command), cwd=ws.root,
                            env={**os.environ, **(env or {})}, timeout=timeout,
                            log_path=ws.root / "logs" / "step.log", header=f"try {key.try_no}: {command}")


def test_a_try_records_exit_code_output_tail_and_log(ws):
    key = TryKey("r1", 1, 1, 1)
    child = _start(ws, key, "echo out; echo err >&2; exit 3")
    row = supervised.wait(ws.store, key, threading.Event(), child)
    assert row["state"] == "finished" and row["exit_code"] == 3
    assert "out" in row["output_tail"] and "err" in row["output_tail"]
    assert proctree.start_ticks(row["sup_pid"]) != row["sup_start"]  # that supervisor is gone
    log = (ws.root / "logs" / "step.log").read_text()
    assert "try 1: echo out" in log and "out\n" in log and "exit 3" in log


def test_a_fenced_spawning_try_never_runs(ws):
    key = TryKey("r2", 1, 1, 1)
    with ws.store.transaction() as conn:
        conn.execute("INSERT INTO step_attempts (run_id, step_index, attempt, try_no, state, created_at) "
                     "VALUES ('r2', 1, 1, 1, 'spawning', 'now')")
    assert supervised.settle_inflight(ws.store, "r2", 1, 1, threading.Event()) is None
    assert supervised.row(ws.store, key)["state"] == "abandoned"
    # Its supervisor starting late (tt died between the insert and the spawn) loses the claim.
    spec = {"db": str(ws.store.path), "run_id": "r2", "step_index": 1, "attempt": 1, "try_no": 1,
            "argv": ["/bin/sh", "-c", "touch ran"], "cwd": str(ws.root), "env": {}, "timeout": None,
            "log_path": str(ws.root / "l.log"), "header": "x"}
    res = subprocess.run([sys.executable, "-I", "-S", stepsup.__file__], input=__import__("json").dumps(spec),
                         text=True, timeout=60)
    assert res.returncode == stepsup.EXIT_ABANDONED
    assert not (ws.root / "ran").exists()


def test_a_dead_supervisor_means_lost_and_its_command_is_killed_before_anything_reruns(ws):
    key = TryKey("r3", 1, 1, 1)
    child = _start(ws, key, "echo $$ > cmd.pid; sleep 120")
    wait_until(lambda: (ws.root / "cmd.pid").exists() and (ws.root / "cmd.pid").read_text().strip())
    cmd = int((ws.root / "cmd.pid").read_text())
    wait_until(lambda: supervised.row(ws.store, key)["child_pid"])
    os.kill(child.pid, signal.SIGKILL)  # the supervisor dies; its command would live on
    row = supervised.wait(ws.store, key, threading.Event(), child)
    assert row["state"] == "lost"
    wait_until(lambda: not proctree.running(cmd), timeout=10)


def test_cancel_stops_the_command_through_its_supervisor(ws):
    key = TryKey("r4", 1, 1, 1)
    child = _start(ws, key, "sleep 120")
    cancel = threading.Event()
    wait_until(lambda: supervised.row(ws.store, key)["child_pid"])
    cmd = supervised.row(ws.store, key)["child_pid"]
    cancel.set()
    row = supervised.wait(ws.store, key, cancel, child)
    assert row["state"] == "finished" and row["cancelled"] == 1
    assert not proctree.running(cmd)


def test_timeout_kills_the_commands_whole_group(ws):
    key = TryKey("r5", 1, 1, 1)
    started = time.monotonic()
    child = _start(ws, key, "sleep 120 & echo $! > bg.pid; sleep 120", timeout=1)
    row = supervised.wait(ws.store, key, threading.Event(), child)
    assert row["timed_out"] == 1 and time.monotonic() - started < 30
    assert not proctree.running(int((ws.root / "bg.pid").read_text()))


def test_resume_skips_supervised_commands_when_killing_orphans(ws):
    key = TryKey("r6", 1, 1, 1)
    child = _start(ws, key, "sleep 120", env={"TUTTI_RUN_ID": "r6"})
    loose = subprocess.Popen(["sleep", "120"], env={**os.environ, "TUTTI_RUN_ID": "r6"}, start_new_session=True)
    try:
        wait_until(lambda: supervised.row(ws.store, key)["child_pid"])
        supervised_cmd = supervised.row(ws.store, key)["child_pid"]
        assert find_orphans("r6") == [loose.pid]
        assert supervised_cmd not in find_orphans("r6")
    finally:
        loose.kill()
        loose.wait()
        os.kill(child.pid, signal.SIGTERM)
        child.wait(timeout=30)


def test_idempotent_command_steps_run_without_a_supervisor(ws):
    (ws.root / "tutti.toml").write_text('[workspace]\nname = "sup"\n[[workflow]]\nname = "w"\n'
                                        '[[workflow.step]]\ntype = "command"\nrun = "true"\nidempotent = true\n'
                                        '[[workflow.step]]\ntype = "command"\nrun = "true"\n')
    from tutti.workspace import load_workspace_at

    ws = load_workspace_at(ws.root)
    result = ops.run_workflow(ws, "w")
    assert result.success
    rows = ws.store.query("SELECT step_index FROM step_attempts WHERE run_id = ?", (result.run_id,))
    assert [r["step_index"] for r in rows] == [2]
    assert "supervised" not in result.steps[0]["side_effects"]
    assert result.steps[1]["side_effects"]["supervised"] == {"attempt": 1, "try": 1, "adopted": False}


def test_retries_are_tries_of_one_attempt_run_one_after_another(ws, tutti_home):
    (tutti_home / "config.toml").write_text("[resilience]\nretry_max_attempts = 3\nretry_initial_backoff_ms = 10\n")
    (ws.root / "tutti.toml").write_text('[workspace]\nname = "sup"\n[[workflow]]\nname = "w"\n'
                                        '[[workflow.step]]\ntype = "command"\n'
                                        'run = "echo x >> tries; test $(wc -l < tries) -ge 2"\n')
    from tutti.workspace import load_workspace_at

    ws = load_workspace_at(ws.root)
    result = ops.run_workflow(ws, "w")
    rows = ws.store.query("SELECT try_no, exit_code FROM step_attempts WHERE run_id = ? ORDER BY try_no",
                          (result.run_id,))
    assert [(r["try_no"], r["exit_code"]) for r in rows] == [(1, 1), (2, 0)]
    assert result.success and result.steps[0]["attempts"] == 2
