"""Workflows' `schedule`s as Temporal Schedules (`[engine] kind = "temporal"`).

Each `[[workflow]]` with `schedule = "<cron>"` (+ `timezone`) is one Temporal Schedule whose id
derives from the queue prefix, the workspace and the workflow name. `sync` makes the service's
set match tutti.toml — create, update (cron or zone changed), delete (schedule or workflow
removed); the standing control worker of `tt serve` runs it at start and whenever tutti.toml
changes (`sync_changed`), and `tt schedule sync` runs it by hand. The schedule's action starts
`TuttiScheduled` on the control queue, which plans the run through the `tutti.plan_scheduled`
activity (`plan`, below: the run row, as `tt run` records it) and runs the `TuttiRun` child whose
id is the run id. Overlap policy SKIP: a fire while the previous run of that workflow is still
running starts nothing. The local scheduler does not also fire them under temporal.
"""

from __future__ import annotations

import hashlib
from datetime import UTC
from typing import TYPE_CHECKING, Any

from tutti.distributed.settings import control_queue

if TYPE_CHECKING:
    from tutti.workspace import Workspace

SCHEDULED_WORKFLOW = "TuttiScheduled"


def id_prefix(ws: Workspace) -> str:
    return f"{ws.config.engine.task_queue_prefix}.schedule.{ws.name}."


def schedule_id(ws: Workspace, workflow: str) -> str:
    return id_prefix(ws) + workflow


def wanted(ws: Workspace) -> dict[str, dict[str, str]]:
    """Workflow name -> {cron, timezone} for every workflow with a `schedule` (zone resolved:
    unset means the machine's local zone, as for the local scheduler)."""
    return {wf.name: {"cron": wf.schedule.strip(), "timezone": wf.timezone or _local_zone()}
            for wf in ws.config.workflows if wf.schedule}


def _local_zone() -> str:
    from tutti.workflows.scheduler import zone_for

    return getattr(zone_for(None), "key", None) or "UTC"


# -- the activity body (control worker) -------------------------------------------------------
def plan(ws: Workspace, inp: dict[str, Any]) -> dict[str, Any]:
    """`tutti.plan_scheduled`: record the run (once: a retried activity finds its row) and return
    the `TuttiRun` input — what `tt run WORKFLOW` would have started."""
    from tutti.distributed.records import record_start, workflow_input
    from tutti.workflows.plan import resolve_plan

    fresh = _fresh(ws)
    p = resolve_plan(fresh, inp["workflow"])
    run_id = inp["run_id"]
    if not ws.store.query("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)):
        record_start(fresh, p, run_id, "schedule", False, 0)
    return workflow_input(fresh, p, run_id, origin="schedule", direct=False)


def _fresh(ws: Workspace) -> Workspace:
    """The workspace as tutti.toml says now (a schedule added after the worker started)."""
    from tutti.workspace import load_workspace_at

    return load_workspace_at(ws.root)


# -- the client side --------------------------------------------------------------------------
async def sync(ws: Workspace, client: Any = None) -> list[dict[str, Any]]:
    """Make the service's schedules of this workspace match tutti.toml; one row per schedule:
    workflow, schedule_id, action (created | updated | unchanged | deleted)."""
    from tutti.distributed.client import connect

    client = client or await connect(ws)
    want = wanted(ws)
    out = []
    for name, spec in sorted(want.items()):
        sid = schedule_id(ws, name)
        current = await _made_from(client, sid)
        if current == spec:
            action = "unchanged"
        else:
            if current is not None:  # a schedule's memo cannot be updated: replace it
                await _delete(client, sid)
            await client.create_schedule(sid, _schedule(ws, name, spec), memo=spec)
            action = "created" if current is None else "updated"
        out.append({"workflow": name, "schedule_id": sid, "action": action, **spec})
    for sid in sorted(set(await _listed(ws, client)) - {schedule_id(ws, n) for n in want}):
        if await _delete(client, sid):
            out.append({"workflow": sid[len(id_prefix(ws)):], "schedule_id": sid, "action": "deleted"})
    return out


async def _made_from(client: Any, sid: str) -> dict[str, Any] | None:
    """The {cron, timezone} schedule `sid` was made from, None when there is none (describe is
    consistent at once; the list is not)."""
    from temporalio.service import RPCError, RPCStatusCode

    try:
        desc = await client.get_schedule_handle(sid).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    memo = await desc.memo()
    return {"cron": memo.get("cron"), "timezone": memo.get("timezone")}


async def _delete(client: Any, sid: str) -> bool:
    from temporalio.service import RPCError, RPCStatusCode

    try:
        await client.get_schedule_handle(sid).delete()
        return True
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # gone already (the list lags behind)
            return False
        raise


async def _listed(ws: Workspace, client: Any) -> list[str]:
    return [entry.id async for entry in await client.list_schedules() if entry.id.startswith(id_prefix(ws))]


def _schedule(ws: Workspace, name: str, spec: dict[str, str]) -> Any:
    from temporalio.client import (
        Schedule,
        ScheduleActionStartWorkflow,
        ScheduleOverlapPolicy,
        SchedulePolicy,
        ScheduleSpec,
    )

    sid = schedule_id(ws, name)
    return Schedule(
        action=ScheduleActionStartWorkflow(SCHEDULED_WORKFLOW, {"workflow": name, "schedule_id": sid},
                                           id=f"{sid}.fire", task_queue=control_queue(ws.config)),
        spec=ScheduleSpec(cron_expressions=[spec["cron"]], time_zone_name=spec["timezone"]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP))


async def describe(ws: Workspace) -> list[dict[str, Any]]:
    """`tt schedule list` under temporal: each schedule as the service sees it, next fires included."""
    from tutti.distributed.client import connect

    client = await connect(ws)
    want, listed = wanted(ws), await _listed(ws, client)
    rows = []
    for name in sorted(set(want) | {sid[len(id_prefix(ws)):] for sid in listed}):
        sid = schedule_id(ws, name)
        made = await _made_from(client, sid)
        row: dict[str, Any] = {"workflow": name, "schedule_id": sid, **(want.get(name) or made or {}),
                               "on_temporal": made is not None, "in_config": name in want,
                               "in_sync": made == want.get(name)}
        if made is not None:
            desc = await client.get_schedule_handle(sid).describe()
            info = desc.info
            row["next_fire_times"] = [t.astimezone(UTC).isoformat() for t in info.next_action_times[:3]]
            row["recent_runs"] = [a.action.workflow_id for a in info.recent_actions[-3:]
                                  if hasattr(a.action, "workflow_id")]
            row["paused"] = desc.schedule.state.paused
            row["fired"] = info.num_actions
            row["skipped_overlap"] = info.num_actions_skipped_overlap
        rows.append(row)
    return rows


def config_digest(ws: Workspace) -> str:
    try:
        return hashlib.sha256(ws.config_path.read_bytes()).hexdigest()
    except OSError:
        return ""


async def sync_changed(ws: Workspace, state: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Sync when tutti.toml changed since the last call (always on the first); records
    `engine.schedules.synced` when anything changed on the service."""
    digest = config_digest(ws)
    if state.get("digest") == digest:
        return None
    from tutti.distributed.client import connect

    fresh = _fresh(ws)
    if "client" not in state:
        state["client"] = await connect(ws)
    rows = await sync(fresh, state["client"])
    state["digest"], state["config"] = digest, fresh.config
    changed = [r for r in rows if r["action"] != "unchanged"]
    if changed or "first" not in state:
        ws.store.append_event("engine.schedules.synced", data={"schedules": rows})
    state["first"] = False
    return rows


def sync_now(ws: Workspace) -> list[dict[str, Any]]:
    """`tt schedule sync`."""
    import asyncio

    from tutti.distributed.settings import require_sdk

    require_sdk()
    return asyncio.run(sync(ws))


def describe_now(ws: Workspace) -> list[dict[str, Any]]:
    """`tt schedule list` under temporal."""
    import asyncio

    from tutti.distributed.settings import require_sdk

    require_sdk()
    return asyncio.run(describe(ws))
