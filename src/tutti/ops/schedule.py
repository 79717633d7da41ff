"""Use-case behind `tt schedule list`: a thin wrapper over `workflows.scheduler` (the loop behind
`tt schedule run` is `tutti.supervisor.scheduler.run_schedules`)."""

from __future__ import annotations

from datetime import UTC, datetime

from tutti.workflows.scheduler import ScheduleEntry, Scheduler
from tutti.workspace import Workspace


def list_schedules(ws: Workspace, now: datetime | None = None) -> list[ScheduleEntry]:
    """Every workflow with a `schedule`, its next fire time and last run."""
    return Scheduler(ws).entries(now or datetime.now(UTC))
