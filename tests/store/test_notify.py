"""Push, not poll: a commit that appends events wakes readers at once — in this process directly,
in other processes by datagram — and an SSE client gets each event exactly once."""

from __future__ import annotations

import select
import subprocess
import sys
import textwrap

import httpx

from tutti.store import notify, open_store


def _append_in_child(root, n: int = 1) -> None:
    code = textwrap.dedent(f"""
        from pathlib import Path
        from tutti.store import open_store
        store = open_store(Path({str(root)!r}))
        for i in range({n}):
            store.append_event("agent.working", agent="x", data={{"i": i}})
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_in_process_listeners_are_called_after_commits_with_events_only(tmp_path):
    store = open_store(tmp_path)
    calls: list[int] = []
    unlisten = notify.listen(store.path, lambda: calls.append(store.latest_seq()))
    store.append_event("a")
    with store.transaction() as conn:
        conn.execute("INSERT INTO leases (name, holder, acquired_at, heartbeat_at, expires_at) "
                     "VALUES ('l', 'h', 't', 't', 't')")
    try:
        with store.transaction() as conn:
            store.append_event("rolled-back", conn=conn)
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    with store.transaction() as conn:
        store.append_event("b", conn=conn)
        store.append_event("c", conn=conn)
    unlisten()
    store.append_event("d")
    # Called after each committing transaction with events (seen committed), once per commit.
    assert calls == [1, 3]


def test_another_process_wakes_a_listener(tmp_path):
    store = open_store(tmp_path)
    listener = notify.Listener(store.path)
    try:
        assert (notify.notify_dir(store.path) / listener.name).exists()
        _append_in_child(tmp_path)
        readable, _, _ = select.select([listener], [], [], 30)
        assert readable == [listener]
        listener.drain()
        assert select.select([listener], [], [], 0)[0] == []
        assert [e.kind for e in store.read_events(0)] == ["agent.working"]
    finally:
        listener.close()
    assert not (notify.notify_dir(store.path) / listener.name).exists()


def test_a_dead_readers_marker_is_removed_by_the_next_writer(tmp_path):
    store = open_store(tmp_path)
    folder = notify.notify_dir(store.path)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "999999999-deadbeef0000").touch()  # a reader that crashed without closing
    store.append_event("x")
    assert not (folder / "999999999-deadbeef0000").exists()


def test_sse_delivers_events_from_another_process_by_wake_up_exactly_once(git_repo):
    from tests.serve.live import SSEReader, load, serving, write_workspace

    ws = load(write_workspace(git_repo))
    with serving([ws]) as url:
        hub = url.app.state.ctx.hub(ws)
        hub.poll_secs = hub.safety_poll_secs = 3600.0  # only a wake-up can deliver in time
        with httpx.stream("GET", url + "/v1/events/stream", params={"cursor": 0},
                          timeout=httpx.Timeout(30.0)) as r:
            reader = SSEReader(r)
            _append_in_child(ws.root, 5)  # another process: datagram wake-ups
            ws.store.append_event("agent.idle", agent="y")  # this process: a direct call
            ids = [int(reader.next_event()["id"]) for _ in range(6)]
    assert ids == [1, 2, 3, 4, 5, 6]
