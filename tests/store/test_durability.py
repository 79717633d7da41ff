"""`TUTTI_DURABILITY`: what a committed transaction survives (store/db.py, README "Durability")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tutti.errors import StoreError
from tutti.store import open_store

SYNCHRONOUS = {1: "NORMAL", 2: "FULL"}


def _level(tmp_path) -> str:
    store = open_store(tmp_path)
    try:
        return SYNCHRONOUS[store.query("PRAGMA synchronous")[0][0]]
    finally:
        store.close()


def test_default_is_process_durability(tmp_path, monkeypatch):
    monkeypatch.delenv("TUTTI_DURABILITY", raising=False)
    assert _level(tmp_path) == "NORMAL"


def test_power_durability_fsyncs_every_commit(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTTI_DURABILITY", "Power")
    assert _level(tmp_path) == "FULL"


def test_an_unknown_level_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTTI_DURABILITY", "fast")
    with pytest.raises(StoreError) as err:
        open_store(tmp_path)
    assert "TUTTI_DURABILITY='fast'" in err.value.message and "power" in (err.value.hint or "")


WRITER = """
import os, signal, sys
from pathlib import Path
from tutti.store import open_store
store = open_store(Path(sys.argv[1]))
for i in range(200):
    store.append_event("test.committed", data={"i": i})
print("committed", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_process_durability_keeps_every_commit_across_sigkill(tmp_path, monkeypatch):
    # The default level's promise: a writer killed right after its commits (no close, no
    # checkpoint, WAL never folded back) loses none of them.
    monkeypatch.delenv("TUTTI_DURABILITY", raising=False)
    child = subprocess.run([sys.executable, "-c", WRITER, str(tmp_path)], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ))
    assert child.returncode == -signal.SIGKILL and "committed" in child.stdout
    store = open_store(tmp_path)
    assert [e.data["i"] for e in store.read_events(0, kinds=["test.committed"])] == list(range(200))
