"""The live event stream: one shared store reader per workspace, fanned out to every client.

`EventHub` runs a single background task per workspace that reads `read_events(last_seq)` when a
writer wakes it (`tutti.store.notify`: a commit with events wakes readers in this process
directly and in other processes by datagram) and puts new events on each subscriber's bounded
queue — a hundred clients cost one query per commit, not a hundred (the original re-read the
whole events file per client per second). A slow poll (1 s) remains as a safety net; where
wake-ups are unavailable it polls every ~50 ms as before.

A client resumes from a cursor (`Last-Event-ID` or `?cursor=`): it subscribes FIRST, then reads the
backlog after its cursor once, then drains its queue, skipping any seq it already sent. Events
appended before the subscription are in the backlog, events after it are in the queue, and the
seq check removes the overlap — no gap, no duplicate. A client too slow to keep its queue below
the bound is told to reconnect (`event: reconnect`) with its last id and resumes the same way.
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

BATCH = 1000


@dataclass(eq=False)
class Subscriber:
    queue: asyncio.Queue
    overflowed: bool = False


@dataclass(eq=False)
class EventHub:
    """One poller per workspace; started by the first subscriber, stopped after the last leaves."""

    ws: Workspace
    poll_secs: float = 0.05  # only where wake-ups are unavailable
    safety_poll_secs: float = 1.0  # with wake-ups: a net for anything that appends without them
    queue_size: int = 2000
    subscribers: set[Subscriber] = field(default_factory=set)
    last_seq: int = 0
    _task: asyncio.Task | None = None
    _store: Store | None = None

    @property
    def store(self) -> Store:
        # A dedicated connection: the poller never waits on the lock action handlers hold.
        if self._store is None:
            from tutti.store import open_store

            self._store = open_store(self.ws.root, workspace=self.ws.name)
        return self._store

    def subscribe(self) -> Subscriber:
        sub = Subscriber(asyncio.Queue(maxsize=self.queue_size))
        self.subscribers.add(sub)
        if self._task is None or self._task.done():
            self.last_seq = self.store.latest_seq()
            self._task = asyncio.get_running_loop().create_task(self._poll())
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
                events = await self._read_new()
                self._fan_out(events)
                if len(events) < BATCH:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(woken.wait(), timeout=interval)
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

    async def _read_new(self) -> list[Event]:
        try:
            return await asyncio.to_thread(self.store.read_events, self.last_seq, limit=BATCH)
        except (sqlite3.Error, StoreError):  # a busy database must not kill the stream; next tick
            return []

    def _fan_out(self, events: list[Event]) -> None:
            for event in events:
                self.last_seq = event.seq
                for sub in list(self.subscribers):
                    if sub.overflowed:
                        continue
                    try:
                        sub.queue.put_nowait(event)
                    except asyncio.QueueFull:
                        # Too slow: empty its queue and leave a single None telling it to reconnect.
                        # Nothing is lost — it resumes from the last id it actually received.
                        sub.overflowed = True
                        while not sub.queue.empty():
                            sub.queue.get_nowait()
                        sub.queue.put_nowait(None)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._store is not None:
            self._store.close()
            self._store = None


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
                    item = await asyncio.wait_for(next_item(), timeout=wait)
                except TimeoutError:
                    if deadline is not None and loop.time() >= deadline:
                        yield f"event: end\ndata: {json.dumps({'reason': 'timeout', 'timeout_secs': spec.timeout_secs})}\n\n"
                        return
                    yield ": keepalive\n\n"
                    continue
                frames, reconnect = _drain(item, ready_item, spec, sent)
                if frames:
                    yield "".join(frames)
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
    for (hub, _sub) in subs:
        name = hub.ws.name
        cursor = spec.cursors.get(name)
        if cursor is None:
            sent.seqs[name] = await asyncio.to_thread(hub.store.latest_seq)
            continue
        sent.seqs[name] = cursor
        while True:
            batch = await asyncio.to_thread(hub.store.read_events, sent.seqs[name], limit=BATCH)
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
    case) reads its queue directly, several are merged by one pump task each."""
    if len(subs) == 1:
        only_name, only_queue = subs[0][0].ws.name, subs[0][1].queue

        async def next_item():
            return only_name, await only_queue.get()

        def ready_item():
            return only_name, only_queue.get_nowait()

        return next_item, ready_item, []
    merged: asyncio.Queue = asyncio.Queue()
    pumps = [loop.create_task(_pump(hub.ws.name, sub, merged)) for hub, sub in subs]
    return merged.get, merged.get_nowait, pumps


def _drain(item, ready_item, spec: StreamSpec, sent: _Sent) -> tuple[list[str], bool]:
    """Everything already queued as frames for ONE write (far fewer sends and client wake-ups
    when events arrive in bursts); True when the client fell too far behind (ends in reconnect)."""
    frames: list[str] = []
    while item is not None:
        name, event = item
        if event is None:  # this client fell too far behind
            frames.append(f"event: reconnect\ndata: "
                          f"{json.dumps({'reason': 'slow_client', 'last_event_id': sent.last_id(name)})}\n\n")
            return frames, True
        if event.seq > sent.seqs.get(name, 0):  # else: already delivered from the backlog
            if _wanted(event, spec.kinds):
                frames.append(frame(event, sent.event_id(name, event.seq), named=spec.named))
            else:
                sent.seqs[name] = event.seq
        if len(frames) >= 500:
            break
        try:
            item = ready_item()
        except asyncio.QueueEmpty:
            item = None
    return frames, False


async def _pump(name: str, sub: Subscriber, merged: asyncio.Queue) -> None:
    while True:
        event = await sub.queue.get()
        await merged.put((name, event))
        if event is None:
            return
