"""`type = "ensure_running"`: the agent's session exists and is ready (started and waited for
until idle and stable when it was not running)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tutti.errors import TuttiError
from tutti.workflows.steps import StepOutcome
from tutti.workflows.steps import agent_session as sessions

if TYPE_CHECKING:
    from tutti.workflows.plan import ResolvedStep
    from tutti.workflows.steps import StepContext


def execute(ctx: StepContext, step: ResolvedStep) -> StepOutcome:
    agent = step.agent
    try:
        started = sessions.ensure_agent(ctx, agent)
    except TuttiError as exc:
        return StepOutcome(status="failed", message=f"failed to start '{agent}': {exc.message}",
                           side_effects={"agent": agent})
    message = f"started agent '{agent}'" if started else f"agent '{agent}' already running"
    return StepOutcome(status="success", message=message, side_effects={"agent": agent, "started_session": started})


def already_done(ctx: StepContext, step: ResolvedStep, intent: dict[str, Any]) -> bool:
    """Resume: a running agent is the whole effect of this step."""
    return sessions.is_running(ctx, step.agent)
