"""`type = "land"`: the agent's branch lands through the configured merge gate.

Order: the gate is checked first (against the branch head that was reviewed), then
`gates.land.land_agent` (shared with `tt land`) cherry-picks onto the current branch (or, with `pr = true`, the branch is pushed
and a PR opened through the GitHub API; the `github` gate is then checked against that PR). A blocked gate
fails the step with the gate's checks and any review findings in the outcome.

Idempotency (`already_done`, the compensator preflight on `--resume`): the branch's changes
are already on HEAD — merged (`merge-base --is-ancestor`) or cherry-picked (every commit of
`git cherry HEAD BRANCH` is marked `-`) — and the agent's worktree has no pending changes. A
land is never repeated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tutti.errors import GateError, TuttiError
from tutti.gates.repo import Repo
from tutti.workflows.steps import StepOutcome

if TYPE_CHECKING:
    from tutti.workflows.plan import ResolvedStep
    from tutti.workflows.steps import StepContext


def _branch(ctx: StepContext, agent: str) -> str:
    cfg = ctx.workspace.config.agent(agent)
    if cfg is None:
        raise TuttiError(f"agent '{agent}' not found in {ctx.workspace.config_path}")
    return cfg.branch_name()


def plan_intent(ctx: StepContext, step: ResolvedStep, intent: dict[str, Any]) -> dict[str, Any]:
    root = Repo(ctx.workspace.root)
    branch = _branch(ctx, step.agent)
    return {**intent, "branch": branch, "branch_head": root.rev(branch), "root_head": root.rev("HEAD")}


def landed(ctx: StepContext, agent: str) -> tuple[bool, dict[str, Any]]:
    """(already on HEAD and nothing pending in the worktree, facts)."""
    root = Repo(ctx.workspace.root)
    branch = _branch(ctx, agent)
    if not root.branch_exists(branch):
        return False, {"branch": branch, "exists": False}
    merged = root.is_ancestor(branch, "HEAD")
    if not merged:
        cherry = root.out("cherry", "HEAD", branch).splitlines()
        merged = all(line.startswith("-") for line in cherry if line.strip())
    wt = ctx.workspace.worktree_path(agent)
    dirty = Repo(wt).is_dirty(include_untracked=False) if wt.is_dir() else False
    return merged and not dirty, {"branch": branch, "merged": merged, "worktree_dirty": dirty}


def execute(ctx: StepContext, step: ResolvedStep) -> StepOutcome:
    from tutti.gates.land import land_agent
    from tutti.gates.merge import enforce
    from tutti.workflows.engine import run_named

    cfg = step.config
    agent = step.agent
    effects: dict[str, Any] = {"agent": agent, "branch": _branch(ctx, agent), "pr": cfg.pr}
    if cfg.pr:
        from tutti.gates.github import push_and_open_pr

        pr = push_and_open_pr(ctx.workspace.root, effects["branch"], settings=ctx.workspace.config.github)
        effects["pr_url"], effects["pr_number"] = pr.url, pr.number
    try:
        gate = enforce(ctx.workspace, agent, run_id=ctx.run_id, cancel=ctx.cancel, step=step.key,
                       run_workflow=run_named)
    except GateError as exc:
        result = getattr(exc, "gate_result", None)
        if result is not None:
            effects["gate"] = result.to_dict()
            effects["findings"] = result.findings
        return StepOutcome(status="failed", message=exc.message, side_effects=effects)
    effects["gate"] = gate.to_dict()
    if cfg.pr:
        return StepOutcome(status="success", message=f"opened PR {effects['pr_url']}; {gate.message}",
                           side_effects=effects)
    result = land_agent(ctx.workspace, agent, force=cfg.force)
    effects["land"] = result.to_dict()
    if not result.commits:
        message = result.warnings[0] if result.warnings else f"No new commits to land from {agent}."
    else:
        message = f"Landed {len(result.commits)} commit(s) from {agent} ({result.branch}) onto {result.onto}."
    return StepOutcome(status="success", message=message, side_effects=effects)


def already_done(ctx: StepContext, step: ResolvedStep, intent: dict[str, Any]) -> bool:
    if step.config.pr:
        return False  # a PR land re-run reuses the open PR (push_and_open_pr is idempotent)
    done, facts = landed(ctx, step.agent)
    ctx.workspace.store.append_event("workflow.compensator_preflight", agent=step.agent, run_id=ctx.run_id,
                                     step=step.key, data={"type": "land", "skip": done, **facts})
    return done
