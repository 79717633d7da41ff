"""The host's event forwarder: every event `tt host --name H` records locally — in runs or not
(watcher transitions, usage, `agent.*`) — reaches the control store, continuously and once.

Loop: read the events after the cursor (`spine.read_cursor`), hand them to the control as one
`TuttiForward` workflow on the control queue, and only when it answered move the cursor. A kill
between the answer and the cursor write re-sends the batch, which the control's (host, host_seq)
dedupe drops; a control or Temporal service that is down makes the call fail or time out, and the
same batch is retried with back-off — nothing is skipped. Woken by the store's commit
notifications (`store.wakeup`), with a slow poll as the safety net.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tutti.distributed.settings import control_queue

if TYPE_CHECKING:
    from tutti.workspace import Workspace

BATCH = 500
POLL_SECS = 2.0  # safety poll; a commit on this host wakes the loop at once
CALL_SECS = 30.0  # how long one batch may wait for a control worker before it is sent again
log = logging.getLogger("tutti.temporal")


async def forward(ws: Workspace, client: Any, host: str, stop: asyncio.Event) -> None:
    from tutti.distributed.forward_def import FORWARD
    from tutti.distributed.spine import events_after, origin, read_cursor, write_cursor

    cursor, me, backoff = read_cursor(ws.state_dir, host), origin(ws.store), 0.5
    with _Wake(ws) as wake:
        while not stop.is_set():
            try:
                events = await asyncio.to_thread(events_after, ws.store, cursor, BATCH)
                if not events:
                    await wake.wait(stop, POLL_SECS)
                    continue
                await client.execute_workflow(
                    FORWARD, {"host": host, "origin": me, "events": events},
                    id=f"tutti-forward-{host}-{events[0]['host_seq']}-{uuid.uuid4().hex[:8]}",
                    task_queue=control_queue(ws.config), execution_timeout=timedelta(seconds=CALL_SECS))
                await asyncio.to_thread(write_cursor, ws.state_dir, host, events[-1]["host_seq"])
                backoff, cursor = 0.5, events[-1]["host_seq"]
            except Exception as exc:  # control or service down, a busy store: the same batch again, later
                log.warning("forwarding the events of host %s after #%d failed: %s", host, cursor, exc)
                await _sleep(stop, backoff)
                backoff = min(backoff * 2, 10.0)


async def _sleep(stop: asyncio.Event, secs: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), secs)
    except TimeoutError:
        pass


class _Wake:
    """The store's commit notifications as an asyncio.Event (fds registered with the loop)."""

    def __init__(self, ws: Workspace) -> None:
        from tutti.store.wakeup import StoreWakeup

        self.event = asyncio.Event()
        self.wakeup = StoreWakeup(ws.store.path)
        self.loop = asyncio.get_running_loop()
        for fd in self.wakeup.fds:
            self.loop.add_reader(fd, self._ready, fd)

    def _ready(self, fd: int) -> None:
        self.wakeup.drain([fd])
        self.event.set()

    async def wait(self, stop: asyncio.Event, secs: float) -> None:
        waiter = asyncio.ensure_future(self.event.wait())
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait([waiter, stopper], timeout=secs, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        stopper.cancel()
        if self.event.is_set():
            self.event.clear()
            await asyncio.sleep(0.05)  # let a burst of commits land in one batch

    def __enter__(self) -> _Wake:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in self.wakeup.fds:
            self.loop.remove_reader(fd)
        self.wakeup.close()
