"""The live event stream: one shared store reader per workspace, fanned out to every client.

`EventHub` runs a single background task per workspace that reads `read_events(last_seq)` when a
writer wakes it (`tutti.store.notify`: a commit with events wakes readers in this process
directly and in other processes by datagram). The work of a wake-up is done once, not once per
client: one read, on the event loop itself (a WAL read of a few rows takes well under a
millisecond; a hop to a worker thread cost ~5 ms of GIL hand-over per wake), gives one `Batch`
that every subscriber's queue receives as the same object, and each distinct (kinds filter,
frame format) renders the batch's SSE chunk once — a hundred clients cost one query, one render
and a hundred socket writes per commit. A slow poll (1 s) remains as a safety net; where
wake-ups are unavailable it polls every ~50 ms as before.

A client without a cursor starts at the moment it subscribed (the hub's position then; no query).
A client resumes from a cursor (`Last-Event-ID` or `?cursor=`): it subscribes FIRST, then reads the
backlog after its cursor once (on a connection of its own, in a thread, so the live reader never
waits behind it), then drains its queue, skipping any seq it already sent. Events appended
before the subscription are in the backlog, events after it are in the queue, and the seq check
removes the overlap — no gap, no duplicate. A client too slow to keep fewer than `queue_size`
events queued is told to reconnect (`event: reconnect`) with its last id and resumes the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tutti.errors import StoreError, UsageError

if TYPE_CHECKING:
    from tutti.store import Event, Store
    from tutti.workspace import Workspace

BATCH = 1000  # backlog page (read in a thread)
LIVE_BATCH = 250  # live page, read on the loop: a catch-up burst is paged, never one long read
LIVE_BUSY_MS = 20  # the live reader's SQLite busy timeout (it runs on the event loop)
WRITE_EVENTS = 2000  # a client's queued batches are joined into one write up to about this many events


@dataclass(eq=False)
class Batch:
    """The events of one wake-up, handed to every subscriber as ONE object. Its SSE chunk is
    rendered once per distinct (kinds filter, named) and shared by every client asking for it."""

    events: list[Event]
    _chunks: dict[tuple, str] = field(default_factory=dict)

    @property
    def first_seq(self) -> int:
        return self.events[0].seq

    @property
    def last_seq(self) -> int:
        return self.events[-1].seq

    def chunk(self, kinds: list[str] | None, named: bool) -> str:
        key = (tuple(kinds) if kinds else (), named)
        text = self._chunks.get(key)
        if text is None:
            text = self._chunks[key] = "".join(
                frame(e, str(e.seq), named=named) for e in self.events if _wanted(e, kinds))
        return text


@dataclass(eq=False)
class Subscriber:
    """One client's queue of batches (None = fell behind: reconnect), bounded in EVENTS."""

    queue: asyncio.Queue
    limit: int
    start_seq: int = 0  # the hub's position when it subscribed: every later event reaches the queue
    pending: int = 0  # events queued and not yet taken by the client's stream
    overflowed: bool = False

    def offer(self, batch: Batch) -> None:
        if self.overflowed:
            return
        if self.pending + len(batch.events) > self.limit:
            # Too slow: empty its queue and leave a single None telling it to reconnect.
            # Nothing is lost — it resumes from the last id it actually received.
            self.overflowed = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.pending = 0
            self.queue.put_nowait(None)
            return
        self.pending += len(batch.events)
        self.queue.put_nowait(batch)

    def taken(self, batch: Batch | None) -> None:
        if batch is not None:
            self.pending -= len(batch.events)


@dataclass(eq=False)
class EventHub:
    """One reader per workspace; started by the first subscriber, stopped after the last leaves."""

    ws: Workspace
    poll_secs: float = 0.05  # only where wake-ups are unavailable
    safety_poll_secs: float = 1.0  # with wake-ups: a net for anything that appends without them
    queue_size: int = 2000  # events a client may have queued before it is told to reconnect
    subscribers: set[Subscriber] = field(default_factory=set)
    last_seq: int = 0
    _task: asyncio.Task | None = None
    _store: Store | None = None
    _backlog_store: Store | None = None

    @property
    def store(self) -> Store:
        # A dedicated connection: the reader never waits on the lock action handlers hold. It
        # reads on the event loop, so it never waits long on SQLite either (a WAL reader is
        # almost never busy; when it is, the next read comes `poll_secs` later).
        if self._store is None:
            from tutti.store import open_store

            self._store = open_store(self.ws.root, workspace=self.ws.name)
            self._store.query(f"PRAGMA busy_timeout = {LIVE_BUSY_MS}")
        return self._store

    @property
    def backlog_store(self) -> Store:
        # Backlogs are read in threads on their own connection: the live read on the loop
        # never waits behind a client's catch-up.
        if self._backlog_store is None:
            from tutti.store import open_store

            self._backlog_store = open_store(self.ws.root, workspace=self.ws.name)
        return self._backlog_store

    def subscribe(self) -> Subscriber:
        if self._task is None or self._task.done():
            self.last_seq = self.store.latest_seq()
            self._task = asyncio.get_running_loop().create_task(self._poll())
        sub = Subscriber(asyncio.Queue(), self.queue_size, start_seq=self.last_seq)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    async def _poll(self) -> None:
        """Read new events whenever a writer wakes us (store.notify: directly from this
        process, by datagram from others); poll only as a safety net — every `safety_poll_secs`,
        or every `poll_secs` where wake-ups are unavailable."""
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()
        listener, unlisten = self._listen(loop, woken)
        interval = self.poll_secs if listener is None else self.safety_poll_secs
        try:
            while self.subscribers:
                woken.clear()  # before the read: a commit after it sets it again
                events = self._read_new()
                if events:
                    self._fan_out(Batch(events))
                if events is None or len(events) < LIVE_BATCH:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(woken.wait(), timeout=self.poll_secs if events is None else interval)
                else:
                    await asyncio.sleep(0)  # a full page: let the clients write it before the next
        finally:
            unlisten()
            if listener is not None:
                loop.remove_reader(listener.fileno())
                listener.close()

    def _listen(self, loop: asyncio.AbstractEventLoop, woken: asyncio.Event):
        from tutti.store import notify

        path = self.store.path
        unlisten = notify.listen(path, lambda: loop.call_soon_threadsafe(woken.set))
        try:
            listener = notify.Listener(path)
        except OSError:
            return None, unlisten

        def on_datagram() -> None:
            listener.drain()
            woken.set()

        loop.add_reader(listener.fileno(), on_datagram)
        return listener, unlisten

    def _read_new(self) -> list[Event] | None:
        try:
            return self.store.read_events(self.last_seq, limit=LIVE_BATCH)
        except (sqlite3.Error, StoreError):  # a busy database must not kill the stream: None = retry soon
            return None

    def _fan_out(self, batch: Batch) -> None:
        self.last_seq = batch.last_seq
        for sub in list(self.subscribers):
            sub.offer(batch)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for store in (self._store, self._backlog_store):
            if store is not None:
                store.close()
        self._store = self._backlog_store = None


# -- cursors -------------------------------------------------------------------------------
def parse_cursor(value: str | None, store: Store) -> int | None:
    """A seq (`42`) or an RFC3339 time (resume after the last event at/before it); None = now."""
    if value is None or value == "":
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    ts = to_store_ts(value)
    row = store.query("SELECT MAX(seq) FROM events WHERE ts <= ?", (ts,))[0]
    return row[0] or 0


def to_store_ts(value: str) -> str:
    try:
        dt = datetime.fromisoformat(value.replace("z", "Z").replace(" ", "+"))
    except ValueError:
        raise UsageError(f"invalid cursor '{value}': expected an event seq or an RFC3339 timestamp") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_resume_id(value: str | None, names: list[str]) -> dict[str, str]:
    """Last-Event-ID: a bare seq when one workspace is streamed, `ws=seq;ws2=seq` for several."""
    if not value:
        return {}
    value = value.strip()
    if "=" not in value:
        return {names[0]: value} if len(names) == 1 else {}
    cursors = {}
    for part in value.split(";"):
        name, _, seq = part.partition("=")
        if name in names and seq.isdigit():
            cursors[name] = seq
    return cursors


# -- frames --------------------------------------------------------------------------------
def frame(event: Event, event_id: str, *, named: bool = True) -> str:
    # The hub hands the SAME Event object to every subscriber: serialise it once, not per client.
    data = getattr(event, "_sse_json", None)
    if data is None:
        data = json.dumps(event.to_dict(), default=str, separators=(",", ":"))
        event._sse_json = data  # type: ignore[attr-defined]
    if named:
        return f"id: {event_id}\nevent: {event.kind}\ndata: {data}\n\n"
    return f"id: {event_id}\ndata: {data}\n\n"


@dataclass
class StreamSpec:
    workspaces: list[Workspace]
    cursors: dict[str, int | None]  # workspace name -> last seq already seen (None = now)
    kinds: list[str] | None = None
    named: bool = True
    keepalive_secs: float = 15.0
    timeout_secs: float | None = None


def _wanted(event: Event, kinds: list[str] | None) -> bool:
    if not kinds:
        return True
    return any(event.kind == k or (k.endswith("*") and event.kind.startswith(k[:-1])) for k in kinds)


class _Sent:
    """The last seq sent (or skipped) per workspace, and the Last-Event-ID it makes."""

    def __init__(self, multi: bool) -> None:
        self.multi = multi
        self.seqs: dict[str, int] = {}

    def event_id(self, ws_name: str, seq: int) -> str:
        self.seqs[ws_name] = seq
        return self.last_id(ws_name)

    def last_id(self, ws_name: str) -> str:
        if self.multi:
            return ";".join(f"{k}={v}" for k, v in sorted(self.seqs.items()))
        return str(self.seqs.get(ws_name, 0))


async def stream(spec: StreamSpec, hubs: list[EventHub]) -> AsyncIterator[str]:
    """Yield SSE frames for the spec until the client goes away (or `timeout_secs`)."""
    subs: list[tuple[EventHub, Subscriber]] = [(hub, hub.subscribe()) for hub in hubs]
    sent = _Sent(len(spec.workspaces) > 1)
    try:
        yield ": tutti events stream\n\n"
        # Backlog, read once per connection (subscribed already, so nothing falls between).
        async for chunk in _backlog(spec, subs, sent):
            yield chunk
        loop = asyncio.get_running_loop()
        deadline = loop.time() + spec.timeout_secs if spec.timeout_secs else None
        next_item, ready_item, pumps = _sources(subs, loop)
        try:
            while True:
                wait = spec.keepalive_secs
                if deadline is not None:
                    wait = min(wait, max(0.0, deadline - loop.time()))
                try:
                    item = await _next(next_item, ready_item, wait)
                except TimeoutError:
                    if deadline is not None and loop.time() >= deadline:
                        yield f"event: end\ndata: {json.dumps({'reason': 'timeout', 'timeout_secs': spec.timeout_secs})}\n\n"
                        return
                    yield ": keepalive\n\n"
                    continue
                chunk, reconnect = _drain(item, ready_item, spec, sent)
                if chunk:
                    yield chunk
                if reconnect:
                    return
        finally:
            for pump in pumps:
                pump.cancel()
    finally:
        for hub, sub in subs:
            hub.unsubscribe(sub)


async def _backlog(spec: StreamSpec, subs: list[tuple[EventHub, Subscriber]], sent: _Sent) -> AsyncIterator[str]:
    """The events after each workspace's cursor (none without one: the stream starts now)."""
    for (hub, sub) in subs:
        name = hub.ws.name
        cursor = spec.cursors.get(name)
        if cursor is None:  # from now: the moment it subscribed (all later events are queued)
            sent.seqs[name] = sub.start_seq
            continue
        store = hub.backlog_store
        sent.seqs[name] = cursor
        while True:
            batch = await asyncio.to_thread(store.read_events, sent.seqs[name], limit=BATCH)
            frames = []
            for event in batch:
                if _wanted(event, spec.kinds):
                    frames.append(frame(event, sent.event_id(name, event.seq), named=spec.named))
                else:
                    sent.seqs[name] = event.seq
            if frames:
                yield "".join(frames)
            if len(batch) < BATCH:
                break


def _sources(subs: list[tuple[EventHub, Subscriber]], loop: asyncio.AbstractEventLoop):
    """(await next item, take a ready item or QueueEmpty, pump tasks): one workspace (the common
    case) reads its queue directly, several are merged by one pump task each. An item is
    (workspace name, Batch or None); it leaves its subscriber's count when the stream takes it."""
    if len(subs) == 1:
        only_name, only = subs[0][0].ws.name, subs[0][1]

        async def next_item():
            batch = await only.queue.get()
            only.taken(batch)
            return only_name, batch

        def ready_item():
            batch = only.queue.get_nowait()
            only.taken(batch)
            return only_name, batch

        return next_item, ready_item, []
    by_name = {hub.ws.name: sub for hub, sub in subs}
    merged: asyncio.Queue = asyncio.Queue()
    pumps = [loop.create_task(_pump(hub.ws.name, sub, merged)) for hub, sub in subs]

    def took(item):
        by_name[item[0]].taken(item[1])
        return item

    async def next_merged():
        return took(await merged.get())

    return next_merged, lambda: took(merged.get_nowait()), pumps


async def _next(next_item, ready_item, wait: float):
    """The next item: one already queued without awaiting, else wait at most `wait` seconds
    (`asyncio.timeout`: a timer, where `wait_for` also made a task per wait — per client per wake)."""
    try:
        return ready_item()
    except asyncio.QueueEmpty:
        pass
    async with asyncio.timeout(wait):
        return await next_item()


def _drain(item, ready_item, spec: StreamSpec, sent: _Sent) -> tuple[str, bool]:
    """Every batch already queued as ONE write (one send and one client wake-up per wake, or
    fewer when the client is behind); True when the client fell too far behind (ends in reconnect)."""
    parts: list[str] = []
    events = 0
    while item is not None:
        name, batch = item
        if batch is None:  # this client fell too far behind
            parts.append(f"event: reconnect\ndata: "
                         f"{json.dumps({'reason': 'slow_client', 'last_event_id': sent.last_id(name)})}\n\n")
            return "".join(parts), True
        parts.append(_render(batch, name, spec, sent))
        events += len(batch.events)
        if events >= WRITE_EVENTS:
            break
        try:
            item = ready_item()
        except asyncio.QueueEmpty:
            item = None
    return "".join(parts), False


def _render(batch: Batch, name: str, spec: StreamSpec, sent: _Sent) -> str:
    """This client's frames of a batch: the batch's shared chunk when the client is before all
    of it and its ids are plain seqs (one workspace); frame by frame when the batch overlaps the
    backlog already sent, or when ids are composite (several workspaces)."""
    last = sent.seqs.get(name, 0)
    if batch.last_seq <= last:
        return ""  # all of it came with the backlog
    if not sent.multi and batch.first_seq > last:
        sent.seqs[name] = batch.last_seq  # skipped (unwanted) seqs count as sent, as below
        return batch.chunk(spec.kinds, spec.named)
    frames = []
    for event in batch.events:
        if event.seq <= sent.seqs.get(name, 0):
            continue
        if _wanted(event, spec.kinds):
            frames.append(frame(event, sent.event_id(name, event.seq), named=spec.named))
        else:
            sent.seqs[name] = event.seq
    return "".join(frames)


async def _pump(name: str, sub: Subscriber, merged: asyncio.Queue) -> None:
    while True:
        batch = await sub.queue.get()
        await merged.put((name, batch))
        if batch is None:
            return
