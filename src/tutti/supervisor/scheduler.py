"""The scheduler loop: every `interval_secs`, start the scheduled workflows that are due.

`tutti.workflows.scheduler.Scheduler` decides (cron slots, time zones, in-flight guard) and
starts each due run in its own thread; this module is only the loop around its `tick`, run by
`tt schedule run` in the foreground and by `tt serve` in a supervisor thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tutti.workflows.scheduler import Scheduler, TickDecision

if TYPE_CHECKING:
    from tutti.workspace import Workspace


def run_forever(scheduler: Scheduler, *, interval_secs: float = 15.0, stop: threading.Event | None = None,
                on_tick: Callable[[list[TickDecision]], None] | None = None) -> None:
    """Tick on wall-clock multiples of `interval_secs` until `stop` is set."""
    stop = stop or threading.Event()
    while not stop.is_set():
        decisions = scheduler.tick(datetime.now(UTC))
        if on_tick is not None:
            on_tick(decisions)
        stop.wait(interval_secs - (time.time() % interval_secs) if interval_secs > 1 else interval_secs)


def run_schedules(ws: Workspace, *, interval_secs: float = 15.0, stop: threading.Event | None = None,
                  on_tick: Callable[[list[TickDecision]], None] | None = None) -> None:
    """Start due workflows until `stop` is set (Ctrl-C in the CLI); records `schedule.started`.
    Under `[engine] kind = "temporal"` Temporal Schedules fire them: refused, so nothing runs twice."""
    if ws.config.engine.kind == "temporal":
        from tutti.errors import UsageError

        raise UsageError("schedules run as Temporal Schedules with [engine] kind = \"temporal\"; this loop would "
                         "start every run twice", hint="`tt schedule sync` (tt serve syncs them itself), "
                                                       "`tt schedule list` shows their next fires")
    scheduler = Scheduler(ws)
    ws.store.append_event("schedule.started", data={"workflows": [w.name for w in scheduler.scheduled_workflows()]})
    run_forever(scheduler, interval_secs=interval_secs, stop=stop, on_tick=on_tick)
