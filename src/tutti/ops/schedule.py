"""Use-cases behind `tt schedule list|run`: thin wrappers over `workflows.scheduler`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from tutti.workflows.scheduler import ScheduleEntry, Scheduler, TickDecision
from tutti.workspace import Workspace


def list_schedules(ws: Workspace, now: datetime | None = None) -> list[ScheduleEntry]:
    """Every workflow with a `schedule`, its next fire time and last run."""
    return Scheduler(ws).entries(now or datetime.now(UTC))


def run_schedules(ws: Workspace, *, interval_secs: float = 15.0, stop: threading.Event | None = None,
                  on_tick: Callable[[list[TickDecision]], None] | None = None) -> None:
    """Foreground loop: start due workflows until `stop` is set (Ctrl-C in the CLI)."""
    scheduler = Scheduler(ws)
    ws.store.append_event("schedule.started", data={"workflows": [w.name for w in scheduler.scheduled_workflows()]})
    scheduler.run_forever(interval_secs=interval_secs, stop=stop, on_tick=on_tick)
