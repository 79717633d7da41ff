"""The live event stream: frame format, cursors, resume without gap or duplicate, keep-alives,
slow clients and several workspaces — real server, real streaming client."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from .live import SSEReader, load, serving, write_workspace

TIMEOUT = httpx.Timeout(30.0)


def stream(url: str, **kwargs):
    return httpx.stream("GET", url + "/v1/events/stream", timeout=TIMEOUT, **kwargs)


def test_frames_carry_seq_id_kind_and_json(server, workspace):
    workspace.store.append_event("agent.working", agent="planner", data={"x": 1})
    with stream(server, params={"cursor": 0}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        frame = SSEReader(r).next_event()
    assert frame["id"] == "1" and frame["event"] == "agent.working"
    assert frame["json"]["agent"] == "planner" and frame["json"]["data"] == {"x": 1}


def test_without_cursor_starts_from_now(server, workspace):
    for _ in range(3):
        workspace.store.append_event("agent.idle", agent="planner")
    with stream(server) as r:
        reader = SSEReader(r)
        time.sleep(0.3)  # the stream is open; anything appended from now on is delivered
        fresh = workspace.store.append_event("agent.working", agent="builder")
        frame = reader.next_event()
    assert int(frame["id"]) == fresh.seq == 4


def test_resume_after_dropped_connection_has_no_gap_and_no_duplicate(server, workspace):
    total = 300
    stop = threading.Event()

    def writer():
        for i in range(total):
            workspace.store.append_event("agent.working", agent="planner", data={"i": i})
            time.sleep(0.002)
        stop.set()

    threading.Thread(target=writer, daemon=True).start()
    seen: list[int] = []
    with stream(server, params={"cursor": 0}) as r:
        reader = SSEReader(r)
        while len(seen) < 60:
            seen.append(int(reader.next_event()["id"]))
    # The connection is dropped mid-flight while the writer keeps appending.
    time.sleep(0.2)
    with stream(server, headers={"Last-Event-ID": str(seen[-1])}) as r:
        reader = SSEReader(r)
        # Until the last event arrives (with wake-ups it can arrive before the writer's
        # final sleep ends, i.e. before `stop` is set).
        while seen[-1] < total:
            seen.append(int(reader.next_event()["id"]))
    assert stop.wait(30)
    assert seen == list(range(1, total + 1))


def test_last_event_id_wins_over_cursor_param(server, workspace):
    for _ in range(5):
        workspace.store.append_event("agent.idle", agent="planner")
    with stream(server, params={"cursor": 0}, headers={"Last-Event-ID": "3"}) as r:
        assert SSEReader(r).next_event()["id"] == "4"


def test_rfc3339_cursor_resumes_after_last_event_at_that_time(server, workspace):
    from tutti.store.db import now_iso

    first = workspace.store.append_event("agent.idle", agent="planner")
    while now_iso() <= first.ts:
        pass
    workspace.store.append_event("agent.working", agent="planner")
    with stream(server, params={"cursor": first.ts}) as r:
        assert SSEReader(r).next_event()["id"] == "2"


def test_kinds_filter_with_prefix(server, workspace):
    workspace.store.append_event("agent.idle", agent="planner")
    workspace.store.append_event("workflow.started", run_id="r1")
    with stream(server, params={"cursor": 0, "kinds": "workflow.*"}) as r:
        frame = SSEReader(r).next_event()
    assert frame["event"] == "workflow.started" and frame["id"] == "2"


def test_as_message_omits_event_names(server, workspace):
    workspace.store.append_event("agent.idle", agent="planner")
    with stream(server, params={"cursor": 0, "as_message": True}) as r:
        frame = SSEReader(r).next_event()
    assert "event" not in frame and frame["json"]["kind"] == "agent.idle"


def test_keepalive_comments_while_idle(workspace):
    comments = []
    with serving([workspace], keepalive_secs=0.2) as url, stream(url) as r:
        for line in r.iter_lines():  # no events are appended: only comments arrive
            if line.startswith(":"):
                comments.append(line)
            if len(comments) == 3:
                break
    assert comments == [": tutti events stream", ": keepalive", ": keepalive"]


def test_timeout_ends_stream_with_end_event(server):
    with stream(server, params={"timeout_secs": 1}) as r:
        frame = SSEReader(r).next_event()
    assert frame["event"] == "end" and frame["json"]["reason"] == "timeout"


def test_slow_client_is_told_to_reconnect_and_loses_nothing(workspace):
    with serving([workspace], queue_size=5) as url:
        ctx = url.app.state.ctx
        with stream(url, params={"cursor": 0}) as r:
            reader = SSEReader(r)
            deadline = time.monotonic() + 20
            while workspace.name not in ctx.hubs or not ctx.hubs[workspace.name].subscribers:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            sub = next(iter(ctx.hubs[workspace.name].subscribers))
            # The client reads nothing while 50 events arrive in one commit: the hub reads them as
            # one batch, more than the client's 5-event bound, so it overflows (deterministically).
            with workspace.store.transaction() as conn:
                for i in range(50):
                    workspace.store.append_event("agent.working", agent="planner", data={"i": i}, conn=conn)
            while not sub.overflowed:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            ids, frame = [], reader.next_event()
            while frame.get("event") != "reconnect":
                ids.append(int(frame["id"]))
                frame = reader.next_event()
        last = frame["json"]["last_event_id"]
        assert last == (str(ids[-1]) if ids else "0")
        with stream(url, headers={"Last-Event-ID": last}) as r:
            reader = SSEReader(r)
            while not ids or ids[-1] < 50:
                ids.append(int(reader.next_event()["id"]))
    assert ids == list(range(1, 51))


def test_many_clients_share_one_reader(server, workspace):
    with stream(server) as a, stream(server) as b:
        ra, rb = SSEReader(a), SSEReader(b)
        time.sleep(0.3)
        event = workspace.store.append_event("agent.working", agent="planner")
        assert ra.next_event()["id"] == rb.next_event()["id"] == str(event.seq)


def _wait_subscribers(url, workspace, n: int) -> object:
    ctx = url.app.state.ctx
    deadline = time.monotonic() + 20
    while workspace.name not in ctx.hubs or len(ctx.hubs[workspace.name].subscribers) < n:
        assert time.monotonic() < deadline, "clients did not subscribe"
        time.sleep(0.02)
    return ctx.hubs[workspace.name]


def _append_commits(workspace, commits: int, per_commit: int, pause: float = 0.005) -> list:
    """`commits` transactions of `per_commit` events of rotating kinds; the events appended."""
    kinds = ["agent.working", "workflow.started", "agent.idle"]
    events = []
    for c in range(commits):
        with workspace.store.transaction() as conn:
            for i in range(per_commit):
                n = c * per_commit + i
                events.append(workspace.store.append_event(kinds[n % 3], agent="planner", data={"n": n}, conn=conn))
        time.sleep(pause)
    return events


def test_shared_fan_out_gives_each_filter_its_ordered_frames_across_a_reconnect(server, workspace):
    """Every client is fed from the same per-wake batch: each filter/format gets exactly its
    events in order, and a client that drops mid-stream resumes by Last-Event-ID (its backlog
    overlapping the live batches) with no gap and no duplicate."""
    with stream(server) as a, stream(server, params={"kinds": "workflow.*"}) as b, \
            stream(server, params={"as_message": True}) as c, stream(server) as d:
        _wait_subscribers(server, workspace, 4)
        appended: list = []
        writer = threading.Thread(target=lambda: appended.extend(_append_commits(workspace, 60, 5)))
        writer.start()
        got_d = []
        reader_d = SSEReader(d)
        while len(got_d) < 40:
            got_d.append(int(reader_d.next_event()["id"]))
        d.close()  # dropped while the writer goes on
        with stream(server, headers={"Last-Event-ID": str(got_d[-1])}) as d2:
            reader_d2 = SSEReader(d2)
            writer.join(30)
            while got_d[-1] < appended[-1].seq:
                got_d.append(int(reader_d2.next_event()["id"]))
        seqs = [e.seq for e in appended]
        reader_a, reader_b, reader_c = SSEReader(a), SSEReader(b), SSEReader(c)
        frames_a = [reader_a.next_event() for _ in seqs]
        wanted_b = [e.seq for e in appended if e.kind == "workflow.started"]
        frames_b = [reader_b.next_event() for _ in wanted_b]
        frames_c = [reader_c.next_event() for _ in seqs]
    assert got_d == seqs
    assert [int(f["id"]) for f in frames_a] == seqs
    assert [f["event"] for f in frames_a] == [e.kind for e in appended]
    assert [int(f["id"]) for f in frames_b] == wanted_b and {f["event"] for f in frames_b} == {"workflow.started"}
    assert [f["json"]["seq"] for f in frames_c] == seqs and all("event" not in f for f in frames_c)


def test_one_store_read_per_wake_whatever_the_number_of_clients(server, workspace):
    streams = [stream(server, params={"kinds": "agent.*"} if i % 2 else {}) for i in range(8)]
    responses = [s.__enter__() for s in streams]
    try:
        hub = _wait_subscribers(server, workspace, 8)
        reads = []
        read_events = hub.store.read_events

        def counted(*args, **kwargs):
            found = read_events(*args, **kwargs)
            reads.append(len(found))
            return found

        hub.store.read_events = counted
        appended = _append_commits(workspace, 20, 3, pause=0.03)
        for i, r in enumerate(responses):
            wanted = [e.seq for e in appended if not i % 2 or e.kind.startswith("agent.")]
            reader = SSEReader(r)
            assert [int(reader.next_event()["id"]) for _ in wanted] == wanted
    finally:
        for s in streams:
            s.__exit__(None, None, None)
    # One read per commit that woke the hub (plus the odd empty read: a safety poll, a
    # wake-up already served) — never one per client (that would be 8 x 20).
    assert sum(reads) == 60 and len([n for n in reads if n]) <= 20 and len(reads) <= 30


def test_several_workspaces_use_composite_ids_and_resume(tmp_path):
    one, two = load(write_workspace(tmp_path / "one", "one")), load(write_workspace(tmp_path / "two", "two"))
    one.store.append_event("agent.idle", agent="planner")
    two.store.append_event("agent.idle", agent="planner")
    two.store.append_event("agent.working", agent="planner")
    with serving([one, two]) as url:
        with stream(url, params={"cursor": 0}) as r:
            reader = SSEReader(r)
            ids = [reader.next_event()["id"] for _ in range(3)]
        assert ids[-1] in {"one=1;two=2"} or ids[-1].count("=") == 2
        one.store.append_event("agent.working", agent="builder")
        with stream(url, headers={"Last-Event-ID": "one=1;two=2"}) as r:
            frame = SSEReader(r).next_event()
        assert frame["json"]["workspace"] == "one" and frame["json"]["seq"] == 2
        with stream(url, params={"workspace": "two", "cursor": 1}) as r:
            assert SSEReader(r).next_event()["id"] == "2"


@pytest.mark.parametrize("cursor", ["nonsense", "2026-13-45"])
def test_bad_stream_cursor_is_400(server, cursor):
    r = httpx.get(server + "/v1/events/stream", params={"cursor": cursor}, timeout=TIMEOUT)
    assert r.status_code == 400 and r.json()["action"] == "events.stream"


def test_tt_serve_connections_have_nagle_off():
    """`tt serve` binds its own socket; asyncio turns Nagle off only on connections whose socket
    is proto IPPROTO_TCP. Without TCP_NODELAY a small SSE write behind an unacknowledged one waits
    for the client's delayed ACK (tens of ms)."""
    import asyncio
    import socket

    from tutti.cli.serve_cmd import _bind

    async def accepted_nodelay() -> int:
        sock = _bind("127.0.0.1", 0)
        got: asyncio.Future = asyncio.get_running_loop().create_future()

        async def on_connect(reader, writer):
            got.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=sock)
        _, writer = await asyncio.open_connection("127.0.0.1", sock.getsockname()[1])
        try:
            return await asyncio.wait_for(got, 10)
        finally:
            writer.close()
            server.close()

    # in a thread of its own: a browser test earlier in this worker (Playwright's sync API) can
    # leave an event loop marked running on the main thread, where asyncio.run() refuses
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, accepted_nodelay()).result(30) != 0
