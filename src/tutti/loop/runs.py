"""Start a workflow run, or resume the one a crashed lane left, through the engine."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutti.workspace import Workspace


@dataclass
class RunOutcome:
    run_id: str
    status: str
    detail: str = ""
    resumed: bool = False

    @property
    def success(self) -> bool:
        return self.status == "succeeded"


def run_status(ws: Workspace, run_id: str) -> tuple[str, dict]:
    """(status, params) with a `running` row of a dead process reported as `interrupted`."""
    from tutti.workflows.checkpoints import load_run_state, pid_alive

    state = load_run_state(ws, run_id)
    status = state.status
    if status == "running" and not pid_alive(state.params.get("pid"), state.params.get("pid_started")):
        status = "interrupted"
    return status, state.params


def resume_or_start(ws: Workspace, workflow: str, prior: str | None, *, cancel: threading.Event,
                    on_started: Callable[[str], None]) -> RunOutcome:
    """Resume `prior` (skipping its done steps) unless it already succeeded; without a prior
    run start `workflow`, calling `on_started(run_id)` once the run is recorded and before
    any step runs (so a crash after that point is resumable)."""
    from tutti.workflows.checkpoints import load_run_state
    from tutti.workflows.engine import Engine
    from tutti.workflows.plan import resolve_plan

    if prior is not None:
        status, _ = run_status(ws, prior)
        if status == "succeeded":
            return RunOutcome(prior, status, resumed=True)
        if status == "running":
            return RunOutcome(prior, "failed", "still running in another live process", resumed=True)
        state = load_run_state(ws, prior)
        plan = resolve_plan(ws, state.workflow, agent=state.agent_scope, strict=state.strict,
                            force_open=bool(state.params.get("force_open")))
        result = Engine(ws, plan, resume=state, cancel=cancel).run()
        return RunOutcome(result.run_id, result.status, result.failure_detail(), resumed=True)
    plan = resolve_plan(ws, workflow)
    engine = Engine(ws, plan, origin="loop", cancel=cancel)
    run_id = engine.prepare()
    on_started(run_id)
    result = engine.execute()
    return RunOutcome(run_id, result.status, result.failure_detail())
