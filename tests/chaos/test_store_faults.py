"""The store on a full disk (a small tmpfs) and a corrupt database: one clear `error[store]`
line, never a traceback, and nothing already committed is lost."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from tests.helpers import wait_until

from .harness import db, effects, event_problems, run_ids, run_status, tt

pytestmark = pytest.mark.slow

WORKFLOW = textwrap.dedent("""
    [workspace]
    name = "disk"

    [[workflow]]
    name = "w"
    [[workflow.step]]
    type = "command"
    run = "echo s1 >> EFFECTS"
    fail_mode = "closed"
    [[workflow.step]]
    type = "command"
    run = "while ! test -f GO; do sleep 0.05; done; echo s2 >> EFFECTS"
    fail_mode = "closed"
    [[workflow.step]]
    type = "command"
    run = "echo s3 >> EFFECTS"
    fail_mode = "closed"
""")


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MiB tmpfs (needs root / CAP_SYS_ADMIN; skipped cleanly otherwise)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    yield mnt
    for _ in range(50):
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode == 0:
            return
        time.sleep(0.2)
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(path) -> None:
    with open(path, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass


def _tt(root, *args):
    return subprocess.run([sys.executable, "-m", "tutti", *args], cwd=root, capture_output=True, text=True, timeout=180)


def test_a_full_disk_mid_run_is_one_clear_error_and_the_run_resumes_after_space_is_freed(small_disk, tmp_path):
    root = small_disk / "ws"
    root.mkdir()
    log, go = tmp_path / "effects.log", tmp_path / "go"  # the effects live off the small disk
    (root / "tutti.toml").write_text(WORKFLOW.replace("EFFECTS", str(log)).replace("GO", str(go)))
    go.touch()
    done = _tt(root, "run", "w")
    assert done.returncode == 0, done.stderr
    first = run_ids(root)[0]
    log.unlink()
    go.unlink()
    (small_disk / "filler").touch()

    proc = tt(root, "run", "w")
    wait_until(lambda: len(run_ids(root)) == 2 and effects(log) == {"s1": 1}, timeout=60)
    second = run_ids(root)[1]
    _fill(small_disk / "filler")
    go.touch()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert any(line.startswith("error[store]: cannot write store") for line in err.splitlines()), err
    assert "Traceback" not in err and "free disk space" in err

    full = _tt(root, "runs", "list")  # reading on the full disk: the same kind of line, or it works
    assert "Traceback" not in full.stderr

    (small_disk / "filler").unlink()
    assert run_status(root, first) == "succeeded"  # committed before the disk filled: intact
    with db(root) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    if run_status(root, second) != "succeeded":
        resumed = _tt(root, "run", "--resume", second)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert run_status(root, second) == "succeeded"
    assert effects(log) == {"s1": 1, "s2": 1, "s3": 1}  # step 2 finished on the full disk: adopted, not rerun
    assert event_problems(root) == []


def test_a_corrupt_database_is_one_clear_error_and_the_file_is_left_untouched(git_repo):
    (git_repo / "tutti.toml").write_text(WORKFLOW.replace("EFFECTS", "effects.log").replace("GO", "tutti.toml"))
    assert _tt(git_repo, "run", "w").returncode == 0
    path = git_repo / ".tutti" / "tutti.db"
    for suffix in ("-wal", "-shm"):
        (git_repo / ".tutti" / f"tutti.db{suffix}").unlink(missing_ok=True)
    data = bytearray(path.read_bytes())
    data[100:4096] = os.urandom(3996)  # the schema page: garbage
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    for args in (("run", "w"), ("runs", "list"), ("run", "--resume", "x-1")):
        res = _tt(git_repo, *args)
        assert res.returncode != 0
        assert res.stderr.startswith("error[store]: cannot use store"), res.stderr
        assert "Traceback" not in res.stderr and f"mv {path} {path}.bad" in res.stderr
    assert path.read_bytes() == before  # nothing rewrote or "repaired" the user's file


def test_the_supervisor_outcome_survives_when_the_runner_cannot_write(small_disk, tmp_path):
    """Regression guard for the adopt path: a try's row is committed by its supervisor even if
    `tt` itself died on the full disk (checked through sqlite directly, no tutti code)."""
    root = small_disk / "ws2"
    root.mkdir()
    (root / "tutti.toml").write_text('[workspace]\nname = "x"\n[[workflow]]\nname = "w"\n'
                                     '[[workflow.step]]\ntype = "command"\nrun = "true"\n')
    assert _tt(root, "run", "w").returncode == 0
    conn = sqlite3.connect(root / ".tutti" / "tutti.db")
    assert conn.execute("SELECT state, exit_code FROM step_attempts").fetchall() == [("finished", 0)]
