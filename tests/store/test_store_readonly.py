"""A store SQLite cannot write (a read-only `.tutti/`, file or mount) is mapped by the store
itself to one `error[store]` line naming the path and the fix — the way a full disk is — not
left to the CLI's last-resort handler (which TUTTI_DEBUG=1 turns off)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tutti.errors import StoreError
from tutti.store.db import Store, store_path


def _read_only(directory: Path):
    """Make `directory` and its files unwritable for this process — root included: chmod does
    not stop root, so there `chattr +i` (immutable). Returns the undo function."""
    paths = [directory, *directory.iterdir()]
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p, mode in modes.items():
            p.chmod(mode & ~0o222)
        return lambda: [p.chmod(m) for p, m in modes.items()]
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    done = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True, text=True)
    if done.returncode != 0:
        subprocess.run(["chattr", "-i", *map(str, paths)], capture_output=True)
        pytest.skip(f"this filesystem has no immutable flag: {done.stderr.strip()}")
    return lambda: subprocess.run(["chattr", "-i", *map(str, paths)], check=True)


def test_a_write_transaction_on_a_read_only_store_is_a_store_error(tmp_path):
    path = store_path(tmp_path)
    # a `tt` that exits without closing its store leaves -wal/-shm behind: then SQLite opens the
    # read-only store and refuses only the write (a second connection in this process instead
    # would share a -shm mapping that the immutable flag makes fault: SIGBUS)
    subprocess.run([sys.executable, "-c", "import os, sys; from pathlib import Path; from tutti.store.db import Store; "
                    "Store(Path(sys.argv[1])).query('SELECT 1'); os._exit(0)", str(path)], check=True)
    assert path.with_name(path.name + "-wal").exists()
    undo = _read_only(path.parent)
    try:
        store = Store(path)
        with pytest.raises(StoreError) as caught:  # before: sqlite3.OperationalError
            with store.transaction() as conn:
                conn.execute("INSERT INTO events (ts, kind, data) VALUES ('t', 'k', '{}')")
        assert store.query("SELECT count(*) FROM events")[0][0] == 0  # reads still work
        store.close()
    finally:
        undo()
    _assert_mapped(caught.value, path)


def test_opening_a_read_only_store_without_its_wal_files_is_a_store_error(tmp_path):
    path = store_path(tmp_path)
    Store(path).close()  # the last connection removes -wal/-shm; SQLite cannot recreate them now
    undo = _read_only(path.parent)
    try:
        with pytest.raises(StoreError) as caught:  # before: sqlite3.OperationalError
            Store(path)
    finally:
        undo()
    _assert_mapped(caught.value, path)


def _assert_mapped(err: StoreError, path: Path) -> None:
    assert err.category == "store"
    assert err.message.startswith("cannot write the workspace store (.tutti/tutti.db): ")
    assert str(path.parent) in err.hint and "writable" in err.hint
    assert not isinstance(err, sqlite3.Error)


def test_tt_run_on_a_read_only_store_is_one_error_line_even_with_tutti_debug(git_repo, tt):
    (git_repo / "tutti.toml").write_text(
        '[workspace]\nname = "ro"\n[[workflow]]\nname = "verify"\n'
        '[[workflow.step]]\ntype = "command"\nrun = "true"\nidempotent = true\n')
    assert tt("run", "verify", cwd=git_repo).returncode == 0
    undo = _read_only(git_repo / ".tutti")
    try:
        # TUTTI_DEBUG=1 disables the CLI's last-resort sqlite3 handler: only the store's own mapping answers
        res = tt("run", "verify", cwd=git_repo, env={"TUTTI_DEBUG": "1"})
    finally:
        undo()
    assert res.returncode == 1
    assert "Traceback" not in res.stderr, res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines[-2].startswith("error[store]: cannot write the workspace store (.tutti/tutti.db): "), res.stderr
    assert lines[-1].strip().startswith("hint: make .tutti/") and str(git_repo / ".tutti") in lines[-1]
