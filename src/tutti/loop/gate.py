"""The loop's merge gate, after the review rounds approve: the workspace budget (`[budget]`
enforce mode), the item's cost limit (`[loop] max_cost_usd`), and a human's approval when
`reviewers` includes "human" (`tt approvals approve`). Required checks and resolved review
threads of the item's PR are checked with the reviewers (`loop.pipeline`), so what they find
goes back to the author instead of failing the item."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tutti.errors import TuttiError

if TYPE_CHECKING:
    from tutti.config.models import Loop
    from tutti.intake.base import WorkItem
    from tutti.loop.record import ItemRecord
    from tutti.workspace import Workspace

POLL_SECS = 0.5


def item_cost(ws: Workspace, rec: ItemRecord) -> float:
    runs = [r for r in [rec.run_id, *(f["run_id"] for f in rec.fixes.values())] if r]
    if not runs:
        return 0.0
    marks = ",".join("?" * len(runs))
    rows = ws.store.query(f"SELECT COALESCE(SUM(cost_usd), 0) AS c FROM runs WHERE run_id IN ({marks})", tuple(runs))
    return float(rows[0]["c"] or 0.0)


def check_gate(ws: Workspace, loop: Loop, item: WorkItem, agent: str, rec: ItemRecord, cancel: threading.Event,
               *, on_approval: Callable[[str], None]) -> str | None:
    """Raise ItemFailed when the item may not merge; returns the approval id it waited for."""
    from tutti.budget import check as budget_check
    from tutti.errors import BudgetError
    from tutti.loop.outcome import ItemFailed

    try:
        budget_check(ws, "run", agent)  # the workspace's token budget ([budget] mode = "enforce")
    except BudgetError as exc:
        raise ItemFailed(f"budget: {exc.message}") from None
    if loop.max_cost_usd is not None:
        cost = item_cost(ws, rec)
        if cost > loop.max_cost_usd:
            raise ItemFailed(f"cost limit: the item's runs cost ${cost:.2f}, over [loop] max_cost_usd = {loop.max_cost_usd:g}")
    if "human" not in loop.reviewers:
        return None
    return _await_approval(ws, loop, item, agent, rec, cancel, on_approval)


def _await_approval(ws: Workspace, loop: Loop, item: WorkItem, agent: str, rec: ItemRecord,
                    cancel: threading.Event, on_approval: Callable[[str], None]) -> str:
    from tutti.direct import approvals
    from tutti.direct.policy import ApprovalRequest
    from tutti.loop.outcome import ItemFailed

    approval_id = rec.approval_id
    if approval_id is None:  # asked once per attempt; a resumed lane waits for the same request
        import secrets

        approval_id = f"ap_{secrets.token_hex(4)}"
        approvals.request(ws.store, ApprovalRequest(approval_id, rec.run_id or "loop", agent, "merge",
                                                    {"item": item.key, "title": item.title, "branch": f"tutti/{agent}",
                                                     "url": item.url}))
        on_approval(approval_id)
    deadline = time.monotonic() + loop.approval_timeout_secs
    while True:
        try:
            current = approvals.get(ws.store, rec.run_id or "loop", approval_id)
        except TuttiError as exc:
            raise ItemFailed(f"approval {approval_id}: {exc.message}") from None
        if current.status == "approved":
            return approval_id
        if current.status == "denied":
            raise ItemFailed(f"merge denied by {current.decided_by or 'a human'}"
                             + (f": {current.reason}" if current.reason else ""))
        if time.monotonic() > deadline:
            raise ItemFailed(f"no approval decision within {loop.approval_timeout_secs:g}s (tt approvals approve {approval_id})")
        if cancel.wait(POLL_SECS):
            raise ItemFailed("stopped while waiting for approval")
