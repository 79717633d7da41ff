"""What a temporal run records and what its workflow receives (no SDK): the run row, as the local
engine's `prepare` writes it (with `engine = "temporal"`, so liveness is Temporal's), and the
workflow input built from the plan (each step with the queue it runs on)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tutti.distributed.placement import host_queue_prefix
from tutti.distributed.settings import control_queue, step_queue

if TYPE_CHECKING:
    from tutti.workflows.plan import Plan
    from tutti.workspace import Workspace


def workflow_input(ws: Workspace, plan: Plan, run_id: str, *, origin: str, direct: bool,
                   done: list[int] | None = None, stack: list[str] | None = None) -> dict[str, Any]:
    eng = ws.config.engine
    return {"run_id": run_id, "control_queue": control_queue(ws.config), "done": done or [],
            "stack": [*(stack or []), plan.workflow],
            "heartbeat_secs": eng.heartbeat_secs, "step_timeout_secs": eng.step_timeout_secs,
            "host_queue_prefix": host_queue_prefix(ws.config), "placement_timeout_secs": eng.placement_timeout_secs,
            "steps": [{"index": s.index, "key": s.key, "type": s.type, "depends_on": s.depends_on,
                       "queue": step_queue(ws.config, s), **_placement(ws, s)}
                      for s in plan.steps],
            "step_args": {"workflow": plan.workflow, "agent_scope": plan.agent_scope, "strict": plan.strict,
                          "force_open": plan.force_open, "origin": origin, "direct": direct}}


def _placement(ws: Workspace, step: Any) -> dict[str, Any]:
    """A label-placed agent's step: its label queue and the two errors the workflow may report
    (worded here: the workflow sandbox imports nothing of tutti)."""
    from tutti.distributed.placement import gone_message, step_placement, unplaced_message

    place = step_placement(ws.config, step)
    if place is None:
        return {}
    secs = ws.config.engine.placement_timeout_secs
    return {"queue": place["queue"], "place": {**place, "unplaced": unplaced_message(place, secs),
                                               "gone": gone_message(place, "{host}", secs)}}


def record_start(ws: Workspace, plan: Plan, run_id: str, origin: str, direct: bool, resumes: int,
                 started_at: str | None = None, parent_run_id: str | None = None) -> None:
    from tutti.store.db import now_iso
    from tutti.workflows.checkpoints import RunRecorder

    params = {"workflow": plan.workflow, "strict": plan.strict, "agent": plan.agent_scope, "force_open": plan.force_open,
              "origin": origin, "direct": direct, "engine": "temporal", "pid": None, "parent_run_id": parent_run_id,
              "resumes": resumes,
              "plan": [{"index": s.index, "key": s.key, "id": s.id, "type": s.type, "agent": s.agent,
                        "fail_mode": s.fail_mode, "depends_on": s.depends_on} for s in plan.steps]}
    recorder = RunRecorder(ws, plan, run_id, origin, started_at or now_iso())
    recorder.begin(params, resumed=resumes > 0)
    recorder.mirrors.close()
