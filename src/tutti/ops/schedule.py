"""Use-case behind `tt schedule list`: a thin wrapper over `workflows.scheduler` (the loop behind
`tt schedule run` is `tutti.supervisor.scheduler.run_schedules`). With `[engine] kind =
"temporal"` schedules are Temporal Schedules (`distributed.schedules`): `sync` and
`temporal_schedules`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tutti.workflows.scheduler import ScheduleEntry, Scheduler
from tutti.workspace import Workspace


def list_schedules(ws: Workspace, now: datetime | None = None) -> list[ScheduleEntry]:
    """Every workflow with a `schedule`, its next fire time and last run."""
    return Scheduler(ws).entries(now or datetime.now(UTC))


def on_temporal(ws: Workspace) -> bool:
    return ws.config.engine.kind == "temporal"


def sync(ws: Workspace) -> list[dict[str, Any]]:
    """Create/update/delete this workspace's Temporal Schedules to match tutti.toml."""
    from tutti.errors import UsageError

    if not on_temporal(ws):
        raise UsageError(f"tt schedule sync needs [engine] kind = \"temporal\" in {ws.config_path}",
                         hint="on the local engine `tt serve` (or `tt schedule run`) fires schedules itself")
    from tutti.distributed.schedules import sync_now

    return sync_now(ws)


def temporal_schedules(ws: Workspace) -> list[dict[str, Any]]:
    """Each schedule as Temporal sees it: cron, zone, next fire times, recent runs."""
    from tutti.distributed.schedules import describe_now

    return describe_now(ws)
