"""StoreWakeup: the descriptors a select() loop (tt watch, the supervisor's inbox) waits on become
readable on this process's commits, on another process's commits and on poke(); drain() empties them."""

from __future__ import annotations

import select
import subprocess
import sys
import textwrap

from tutti.store import notify, open_store
from tutti.store.wakeup import StoreWakeup


def _readable(wake: StoreWakeup, timeout: float) -> list[int]:
    return select.select(wake.fds, [], [], timeout)[0]


def test_wakes_on_commits_here_and_elsewhere_and_on_poke(tmp_path):
    store = open_store(tmp_path)
    with StoreWakeup(store.path) as wake:
        assert _readable(wake, 0) == []
        store.append_event("agent.working", agent="x")  # this process: the self-pipe
        ready = _readable(wake, 10)
        assert ready
        wake.drain(ready)
        assert _readable(wake, 0) == []

        code = textwrap.dedent(f"""
            from pathlib import Path
            from tutti.store import open_store
            open_store(Path({str(tmp_path)!r})).append_event("agent.idle", agent="x")
        """)
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
        ready = _readable(wake, 30)  # another process: the datagram socket
        assert wake.listener is not None and wake.listener.fileno() in ready
        wake.drain(ready)
        assert _readable(wake, 0) == []

        wake.poke()
        wake.drain(_readable(wake, 10))
        assert _readable(wake, 0) == []
        marker = notify.notify_dir(store.path) / wake.listener.name
        calls_before = len(notify._local.get(str(store.path), []))
    # closed: its marker is gone and commits no longer call back into it
    assert not marker.exists()
    assert len(notify._local.get(str(store.path), [])) == calls_before - 1
    store.append_event("agent.working", agent="x")
