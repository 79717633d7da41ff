"""`type = "review"`: review packet → reviewer agent → structured verdict (§7.2 + verdicts).

The reviewer (auto-started if needed) is asked to write a verdict JSON file in its worktree;
the step polls for it, validates it and records it (`review.verdict` event, step outcome).
`request_changes` fails the step closed with the findings in the outcome, so the run record
says exactly what to fix. On resume a packet already sent is not sent again: the step goes
back to waiting for that request's verdict, and a verdict recorded after the step's intent
counts as done when it approves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti.errors import TuttiError
from tutti.gates.review import ReviewPacket, Verdict
from tutti.workflows.steps import StepOutcome
from tutti.workflows.steps import agent_session as sessions
from tutti.workflows.steps import delivery as delivery_record

if TYPE_CHECKING:
    from tutti.workflows.plan import ResolvedStep
    from tutti.workflows.steps import StepContext

DEFAULT_TIMEOUT = 1800.0


def _planned_at(ctx: StepContext, step: ResolvedStep) -> str | None:
    rows = ctx.workspace.store.query("SELECT planned_at FROM steps WHERE run_id = ? AND step_index = ?",
                                     (ctx.run_id, step.index))
    return rows[0]["planned_at"] if rows else None


def _events_since(ctx: StepContext, kind: str, agent: str, since: str | None) -> list[dict[str, Any]]:
    rows = ctx.workspace.store.query(
        "SELECT ts, data FROM events WHERE kind = ? AND agent = ? AND run_id = ? AND ts >= ? ORDER BY seq",
        (kind, agent, ctx.run_id, since or ""))
    return [json.loads(r["data"]) for r in rows]


def _outcome_for(verdict: Verdict, effects: dict[str, Any]) -> StepOutcome:
    effects["verdict"] = verdict.to_dict()
    effects["findings"] = [f.__dict__ for f in verdict.findings]
    if verdict.approved:
        return StepOutcome(status="success", side_effects=effects,
                           message=f"'{verdict.reviewer}' approved '{verdict.agent}'"
                           + (f" ({len(verdict.findings)} non-blocking finding(s))" if verdict.findings else ""))
    detail = verdict.findings_text(10) or verdict.summary
    return StepOutcome(status="failed", side_effects=effects,
                       message=f"review of '{verdict.agent}' by '{verdict.reviewer}': request_changes — {detail}")


def execute(ctx: StepContext, step: ResolvedStep) -> StepOutcome:
    from tutti.workflows.review_request import ReviewResult, await_verdict, request_review

    agent, reviewer = step.agent, step.config.reviewer
    timeout = float(step.config.wait_timeout_secs or DEFAULT_TIMEOUT)
    effects: dict[str, Any] = {"agent": agent, "reviewer": reviewer}
    result = None
    if ctx.prior_intent is not None:
        # Resumed after a crash: re-use a request already sent for this step instead of re-sending.
        sent = _events_since(ctx, "review.requested", agent, _planned_at(ctx, step))
        if sent and Path(sent[-1]["verdict_path"]).parent.is_dir():
            last = sent[-1]
            packet = ReviewPacket(agent, Path(last["packet"]), "", "", last.get("head"), "", "", "", [], True)
            result = ReviewResult(agent, reviewer, packet, Path(last["verdict_path"]), sent=True)
            effects["resumed_request"] = True
    if result is None and ctx.prior_intent is not None:
        result = _sent_before_crash(ctx, step, agent, reviewer)
        if result is not None:
            effects["resumed_request"] = True
    effects["started_session"] = sessions.ensure_agent(ctx, reviewer)
    if result is None:
        # Recorded first, so a crash between sending and the `review.requested` event is found
        # on resume (`_sent_before_crash`) instead of sending the packet twice.
        delivery_record.record(ctx, step, "review_request", "sending")
        result = request_review(ctx.workspace, agent, reviewer, run_id=ctx.run_id, step=step.key)
    if not result.sent:
        return StepOutcome(status="success", message=result.message, side_effects=effects)
    effects["packet"] = str(result.packet.path)
    effects["verdict_path"] = str(result.verdict_path)
    try:
        verdict = await_verdict(ctx.workspace, result, timeout=timeout, cancel=ctx.cancel, run_id=ctx.run_id,
                                step=step.key)
    except TuttiError as exc:
        return StepOutcome(status="failed", message=f"review of '{agent}': {exc.message}", side_effects=effects)
    return _outcome_for(verdict, effects)


def plan_intent(ctx: StepContext, step: ResolvedStep, intent: dict[str, Any]) -> dict[str, Any]:
    prior = (ctx.prior_intent or {}).get("review_request")
    return {**intent, "review_request": prior} if isinstance(prior, dict) else intent


def _sent_before_crash(ctx: StepContext, step: ResolvedStep, agent: str, reviewer: str):
    """The crashed attempt was sending a packet (recorded `sending`) but never recorded
    `review.requested`: if a packet written since then reached the reviewer (its verdict file
    exists, or the reviewer's screen shows it), re-use it and record the missing event."""
    from tutti.gates.review import verdict_request_path
    from tutti.workflows.review_request import ReviewResult

    marker = ctx.intent.get("review_request")
    if not isinstance(marker, dict):
        return None
    since = _epoch(marker.get("at"))
    packets = sorted((p for p in (ctx.workspace.state_dir / "reviews").glob(f"{agent}-review-*.md")
                      if p.stat().st_mtime >= since - 1), key=lambda p: p.stat().st_mtime)
    if not packets:
        return None
    packet = ReviewPacket(agent, packets[-1], "", "", None, "", "", "", [], True)
    verdict_path = verdict_request_path(ctx.workspace, reviewer, packet)
    seen = verdict_path.exists()
    if not seen and sessions.is_running(ctx, reviewer):
        screen = sessions.backend().capture(ctx.workspace.session_name(reviewer), scrollback=2000)
        seen = packet.path.stem in "".join(screen.split())  # the agent may have wrapped the path
    if not seen:
        return None
    ctx.workspace.store.append_event("review.requested", agent=agent, run_id=ctx.run_id, step=step.key,
                                     data={"reviewer": reviewer, "packet": str(packet.path),
                                           "verdict_path": str(verdict_path), "head": None, "recovered": True})
    return ReviewResult(agent, reviewer, packet, verdict_path, sent=True)


def _epoch(ts: str | None) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat((ts or "").replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def already_done(ctx: StepContext, step: ResolvedStep, intent: dict[str, Any]) -> bool:
    """An approving verdict for this agent was recorded after the step's intent."""
    verdicts = _events_since(ctx, "review.verdict", step.agent, _planned_at(ctx, step))
    return bool(verdicts) and verdicts[-1].get("verdict") == "approve"
