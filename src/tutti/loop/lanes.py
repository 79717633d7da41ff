"""A lane's view of the workspace: the declared implementer cloned as `implementer-N`, and the
loop's workflow with the work item filled in (`{{item.title}}`, `{{item.body}}` …).

Nothing here touches `tutti.toml`: a lane workspace is the loaded config with extra agents and
rendered workflows, sharing the workspace's store. Templates are rendered once, when the item's
run starts, into a workflow named `<workflow>@<item key>`; a resumed run re-renders the same
text from the same item, so its steps (and their keys) match the checkpoints.
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING, Any

from tutti.errors import ConfigError

if TYPE_CHECKING:
    from tutti.config.models import Loop, TuttiConfig
    from tutti.intake.base import WorkItem
    from tutti.workspace import Workspace

_ITEM = re.compile(r"\{\{\s*item\.([A-Za-z_]+)\s*\}\}")
ITEM_FIELDS = ("id", "key", "title", "body", "url", "labels", "source", "author", "created_at", "scope", "branch")
FIX_WORKFLOW = "loop-fix"
REVIEW_WORKFLOW = "loop-review"


def lane_agent_name(loop: Loop, lane: int) -> str:
    return f"{loop.implementer}-{lane}"


def item_fields(item: WorkItem, branch: str) -> dict[str, str]:
    return {"id": item.id, "key": item.key, "title": item.title, "body": item.body, "url": item.url or "",
            "labels": ",".join(item.labels), "source": item.source, "author": item.author or "",
            "created_at": item.created_at or "", "scope": item.scope, "branch": branch}


def render_item(text: str, fields: dict[str, str], *, quote: bool) -> str:
    """Fill `{{item.FIELD}}`; in command lines every value is shell-quoted (an issue title can
    never inject shell syntax)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in fields:
            raise ConfigError(f"unknown work item field in step text: {match.group(0)}",
                              hint=f"item fields: {', '.join(ITEM_FIELDS)}")
        return shlex.quote(fields[name]) if quote else fields[name]

    return _ITEM.sub(one, text)


def _render_step(step: Any, implementer: str, agent: str, fields: dict[str, str]) -> Any:
    update: dict[str, Any] = {}
    if getattr(step, "agent", None) == implementer:
        update["agent"] = agent
    if step.type == "prompt":
        update["text"] = render_item(step.text, fields, quote=False)
        update["inject_files"] = [render_item(f, fields, quote=False) for f in step.inject_files]
    elif step.type == "command":
        update["run"] = render_item(step.run, fields, quote=True)
    return step.model_copy(update=update) if update else step


def item_workflow_name(workflow: str, item: WorkItem) -> str:
    return f"{workflow}@{item.key}"


def lane_config(config: TuttiConfig, loop: Loop, agent: str, item: WorkItem | None) -> TuttiConfig:
    """The config a lane runs with: `agent` cloned from the implementer (own branch and
    worktree) and the item's rendered workflow."""

    base = config.agent(loop.implementer)
    if base is None:
        raise ConfigError(f"loop implementer '{loop.implementer}' is not a declared agent", hint="check [loop] implementer")
    agents = [a for a in config.agents if a.name != agent]
    agents.append(base.model_copy(update={"name": agent, "branch": f"tutti/{agent}", "fresh_worktree": False}))
    workflows = list(config.workflows)
    if item is not None:
        source = config.workflow(loop.workflow)
        if source is None:
            raise ConfigError(f"loop workflow '{loop.workflow}' is not declared", hint="check [loop] workflow")
        fields = item_fields(item, f"tutti/{agent}")
        steps = [_render_step(s, loop.implementer, agent, fields) for s in source.steps]
        workflows.append(source.model_copy(update={"name": item_workflow_name(loop.workflow, item), "steps": steps}))
    return config.model_copy(update={"agents": agents, "workflows": workflows})


def with_workflow(config: TuttiConfig, workflow: Any) -> TuttiConfig:
    workflows = [w for w in config.workflows if w.name != workflow.name] + [workflow]
    return config.model_copy(update={"workflows": workflows})


def fix_workflow(loop: Loop, agent: str, item: WorkItem, round_no: int, text: str) -> Any:
    """The one-prompt run that hands a review round's findings back to the author agent. The
    text is part of the workflow (kept in the round's event), so a resumed fix run matches."""
    from tutti.config.models import PromptStep, Workflow

    return Workflow(name=f"{FIX_WORKFLOW}@{item.key}#{round_no}", step=[PromptStep(
        type="prompt", id="fix", agent=agent, wait_for_idle=True, wait_timeout_secs=loop.fix_timeout_secs,
        text=text)])


def review_workflow(loop: Loop, agent: str, item: WorkItem, round_no: int) -> Any:
    """The reviewer agent's verdict on the lane's branch (open: a request_changes is a finding,
    not a failed run)."""
    from tutti.config.models import ReviewStep, Workflow

    return Workflow(name=f"{REVIEW_WORKFLOW}@{item.key}#{round_no}", step=[ReviewStep(
        type="review", id="review", agent=agent, reviewer=loop.reviewer, fail_mode="open")])


def lane_workspace(ws: Workspace, config: TuttiConfig) -> Workspace:
    """A Workspace over the same root and store with a lane's config."""
    from tutti.workspace import Workspace

    lane = Workspace(root=ws.root, config=config, warnings=list(ws.warnings))
    lane.__dict__["store"] = ws.store  # one connection per process; never a second one
    return lane
