"""`workflow` steps: run another workflow as a run of its own, linked to the parent run.

The child run id is chosen before the step starts and recorded in the step's intent, so a
resumed parent resumes the *same* child (its completed steps are not replayed) instead of
starting the nested workflow from scratch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tutti.errors import NotFoundError, TuttiError
from tutti.workflows.steps import StepContext, StepOutcome

if TYPE_CHECKING:
    from tutti.workflows.plan import ResolvedStep


def plan_intent(ctx: StepContext, step: ResolvedStep, intent: dict[str, Any]) -> dict[str, Any]:
    from tutti.workflows.engine import new_run_id

    prior = (ctx.prior_intent or {}).get("child_run_id")
    return {**intent, "child_run_id": prior or new_run_id()}


def execute(ctx: StepContext, step: ResolvedStep) -> StepOutcome:
    from tutti.workflows.checkpoints import load_run_state
    from tutti.workflows.engine import Engine
    from tutti.workflows.plan import resolve_plan

    name = step.config.workflow
    if name in ctx.stack:
        raise TuttiError(f"nested workflow cycle: {' → '.join((*ctx.stack, name))}",
                         hint=f"remove the workflow step that runs '{name}' again")
    strict = step.config.strict if step.config.strict is not None else ctx.strict
    child_id = ctx.intent.get("child_run_id")
    resume = None
    if child_id and ctx.prior_intent:
        try:
            state = load_run_state(ctx.workspace, child_id)
        except NotFoundError:
            state = None
        if state is not None and state.status != "succeeded":
            resume = state
    plan = resolve_plan(ctx.workspace, name, agent=step.agent, strict=resume.strict if resume else strict,
                        force_open=bool(resume and resume.params.get("force_open")))
    engine = Engine(ctx.workspace, plan, run_id=child_id, resume=resume, origin=ctx.origin, direct=ctx.direct,
                    cancel=ctx.cancel, parent_run_id=ctx.run_id, stack=ctx.stack, settings=ctx.settings)
    result = engine.run()
    verdict = "succeeded" if result.success else ("was cancelled" if result.status == "cancelled" else "failed")
    message = f"nested workflow '{name}' {verdict} (run {result.run_id})"
    if not result.success and result.failed_steps:
        # Name the innermost failing step, so the outermost error is actionable on its own.
        details = [f"step {s['step_index']}: {s.get('message', '')}" for s in result.steps
                   if s["step_index"] in result.failed_steps]
        message += f" (failed steps: {result.failed_steps}): " + "; ".join(details)
    status = "success" if result.success else ("cancelled" if result.status == "cancelled" else "failed")
    return StepOutcome(status=status, message=message, hint="; ".join(result.failure_hints()) or None,
                       side_effects={"child_run_id": result.run_id, "child_status": result.status})


def already_done(ctx: StepContext, step: ResolvedStep, intent: dict[str, Any]) -> bool:
    """Resume: the child run finished successfully before the parent recorded the outcome."""
    from tutti.workflows.checkpoints import load_run_state

    child_id = intent.get("child_run_id")
    if not child_id:
        return False
    try:
        return load_run_state(ctx.workspace, child_id).status == "succeeded"
    except NotFoundError:
        return False
