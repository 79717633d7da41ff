"""Delivery records of agent-driving steps: was the prompt delivered, and which turn to re-attach to.

A prompt is typed into an agent exactly once per step, whatever crashes in between. The step's
intent row (`steps.intent`, key `delivery` — or `reask` for the one `output_json` re-ask) moves
through three states, each committed before the next action:

* `sending`   — about to paste; `before` is the screen just before the paste.
* `pasted`    — the text is in the agent's input box; `baseline` is the screen right then (the
                turn marker: the agent's answer is whatever changes the screen after it).
* `delivered` — Enter was pressed and `agent.prompt_sent` recorded.

Enter is pressed only after `pasted` is committed, so a `sending` prompt was never submitted.
On `tt run --resume` (`resolve`): `delivered` re-attaches to that turn (waits for it to finish,
or finds it finished); `pasted` presses Enter only if the screen still shows the unsent paste,
else the prompt went in; `sending` presses Enter if the screen changed since `before` (the paste
landed in the input box), else sends. A delivered prompt is never sent again; an undelivered one
is sent once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tutti.store.db import now_iso

if TYPE_CHECKING:
    from tutti.workflows.plan import ResolvedStep
    from tutti.workflows.steps import StepContext

KEYS = ("delivery", "reask")


def record(ctx: StepContext, step: ResolvedStep, key: str, state: str, **facts: Any) -> dict[str, Any]:
    """Commit the delivery state into the step's intent (one transaction) and keep it in ctx."""
    entry = {"state": state, "at": now_iso(), **facts}
    with ctx.workspace.store.transaction() as conn:
        conn.execute("UPDATE steps SET intent = json_set(intent, ?, json(?)) WHERE run_id = ? AND step_index = ?",
                     (f"$.{key}", json.dumps(entry, default=str), ctx.run_id, step.index))
    ctx.intent[key] = entry
    return entry


def carry(ctx: StepContext, intent: dict[str, Any]) -> dict[str, Any]:
    """For `plan_intent`: a resumed attempt keeps the crashed attempt's delivery records."""
    prior = ctx.prior_intent or {}
    kept = {k: prior[k] for k in KEYS if isinstance(prior.get(k), dict)}
    return {**intent, **kept} if kept else intent


def _sent_event_since(ctx: StepContext, agent: str, since: str) -> bool:
    rows = ctx.workspace.store.query("SELECT 1 FROM events WHERE kind = 'agent.prompt_sent' AND agent = ? "
                                     "AND run_id = ? AND ts >= ? LIMIT 1", (agent, ctx.run_id, since))
    return bool(rows)


@dataclass
class Resolution:
    """What a resumed step does about a prompt recorded before the crash."""

    action: str  # "send" (never delivered) | "reattach" (delivered: wait for its turn) | "submit" (press Enter)
    baseline: str | None = None


def resolve(ctx: StepContext, agent: str, entry: dict[str, Any] | None, screen: str | None,
            running: bool) -> Resolution:
    """Decide from the record, the events and the agent's screen (None: no session)."""
    if entry is None:
        return Resolution("send")
    state, baseline = entry.get("state"), entry.get("baseline")
    if state == "delivered" or _sent_event_since(ctx, agent, entry.get("at", "")):
        return Resolution("reattach", baseline)
    if not running or screen is None:
        return Resolution("send")  # nothing was submitted, and the session holding the paste is gone
    from tutti.sessions.screen import body

    if state == "pasted":
        if baseline is not None and body(screen) == body(baseline):
            return Resolution("submit", baseline)  # the paste sits unsent in the input box
        return Resolution("reattach", baseline)
    before = entry.get("before")
    if before is not None and _whole(screen) != _whole(before):
        # Never submitted (Enter follows `pasted`), but the paste is there: the input box is part
        # of what changed, so compare the whole screen (`body` leaves the footer out).
        return Resolution("submit", screen)
    return Resolution("send")


def _whole(screen: str) -> str:
    """The whole screen, digits masked (clocks and counters are not a paste)."""
    import re

    return "\n".join(re.sub(r"\d", "#", line).rstrip() for line in screen.split("\n") if line.strip())
