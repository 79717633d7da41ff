"""Pluggable reviewers of a lane's change, and the prompt that sends their findings back.

A reviewer is a function `ReviewContext -> list[Finding]`; no finding means approve. Built in
(`[loop] reviewers`): `ci` — the verify commands in the lane's worktree; `agent` — the reviewer
agent's verdict file (`gates.review`, through a checkpointed one-step `review` run); `bot` —
unresolved review threads and change requests on the item's PR on the forge (a CodeRabbit-
style bot or any reviewer). `human` approval is a gate, not a round (`loop.gate`).
`register_reviewer(kind, fn)` adds one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from tutti import proc
from tutti.adapters import Registry

if TYPE_CHECKING:
    from tutti.config.models import Loop
    from tutti.intake.base import WorkItem
    from tutti.loop.forge_link import ForgeLink
    from tutti.workspace import Workspace

OUTPUT_LINES = 30


@dataclass
class Finding:
    reviewer: str  # ci | agent | bot | merge_queue | <registered kind>
    body: str
    path: str | None = None
    line: int | None = None
    ref: str | None = None  # the reviewer's handle on it (a review thread id), to resolve once fixed

    def summary(self) -> str:
        first = (self.body.strip().splitlines() or [""])[0]
        return f"{self.reviewer}: {first[:120]}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ReviewContext:
    ws: Workspace  # the lane's workspace
    loop: Loop
    item: WorkItem
    agent: str  # the author (lane) agent
    round: int
    cancel: threading.Event
    verify: Sequence[str] = ()
    forge: ForgeLink | None = None
    pr: dict[str, Any] | None = None
    check_command: Callable[[str], Any] | None = None  # the permission policy (raises when blocked)
    notes: dict[str, Any] = field(default_factory=dict)


Reviewer = Callable[[ReviewContext], list[Finding]]


def ci_findings(ctx: ReviewContext) -> list[Finding]:
    """The verify commands, run on the lane's branch as its worktree holds it."""
    cwd = ctx.ws.worktree_path(ctx.agent)
    for command in ctx.verify:
        if ctx.check_command is not None:
            ctx.check_command(command)  # a blocked command fails the item: the author cannot fix policy
        res = proc.run(proc.shell_argv(command), cwd=cwd, timeout=ctx.loop.merge_queue.verify_timeout_secs,
                       cancel=ctx.cancel)
        if not res.ok:
            tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-OUTPUT_LINES:])
            what = "timed out" if res.timed_out else f"exit {res.returncode}"
            return [Finding("ci", f"`{command}` failed ({what}):\n{tail}")]
    return []


def agent_findings(ctx: ReviewContext) -> list[Finding]:
    """The reviewer agent's verdict on the lane's branch (a request_changes lists findings)."""
    from tutti.loop import lanes
    from tutti.workflows.engine import Engine
    from tutti.workflows.plan import resolve_plan

    wf = lanes.review_workflow(ctx.loop, ctx.agent, ctx.item, ctx.round)
    ctx.ws.config = lanes.with_workflow(ctx.ws.config, wf)
    result = Engine(ctx.ws, resolve_plan(ctx.ws, wf.name), origin="loop", cancel=ctx.cancel).run()
    step = result.steps[0]
    effects = step.get("side_effects") or {}
    verdict = (effects.get("verdict") or {}).get("verdict")
    if verdict == "approve":
        return []
    found = [Finding("agent", f.get("message") or f.get("body") or str(f), f.get("path") or f.get("file"), f.get("line"))
             for f in effects.get("findings") or []]
    return found or [Finding("agent", step.get("message") or "the reviewer did not approve")]


def bot_findings(ctx: ReviewContext) -> list[Finding]:
    if ctx.forge is None or ctx.pr is None:
        return []
    return ctx.forge.review_findings(ctx.pr, ctx.loop.bot_logins, ctx.loop.bot_wait_secs)


# kind -> reviewer (a tutti.adapters.Registry: a new kind is one file and one register line,
# a lazy "module:function" path is fine).
REVIEWERS: Registry[list[Finding]] = Registry("reviewer kind", {
    "ci": ci_findings, "agent": agent_findings, "bot": bot_findings, "human": lambda ctx: []})


def register_reviewer(kind: str, reviewer: Reviewer | str) -> None:
    REVIEWERS.register(kind, reviewer)


def collect_findings(ctx: ReviewContext) -> list[Finding]:
    findings: list[Finding] = []
    for kind in ctx.loop.reviewers:
        findings += REVIEWERS.build(kind, ctx, where="tutti.toml: loop → reviewers")
    return findings


def fix_prompt(item: WorkItem, round_no: int, findings: list[Finding]) -> str:
    lines = [f"Review round {round_no} requested changes on your work for \"{item.title}\" ({item.key}).",
             "Address every finding below in your worktree, run the tests, and commit the fix.", ""]
    for n, f in enumerate(findings, start=1):
        where = f" ({f.path}{':' + str(f.line) if f.line else ''})" if f.path else ""
        lines.append(f"{n}. [{f.reviewer}]{where} {f.body.strip()}")
    return "\n".join(lines)
