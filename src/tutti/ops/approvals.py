"""Human approvals: list the requests waiting for a person and decide them.

One table (`approvals`) serves every kind of request: a tool call of an API-direct agent
(`tool` = the tool name) and a change the SDLC loop wants to merge (`tool` = "merge", args
naming the work item and PR). An approval id is unique, so deciding needs only the id; the
run it belongs to is looked up. Shared by `tt approvals` and the API (`POST /v1/actions/approve`).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from tutti.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from tutti.direct.approvals import Approval
    from tutti.workspace import Workspace

STATUSES = ("pending", "approved", "denied")


def list_approvals(ws: Workspace, *, status: str | None = "pending", run_id: str | None = None,
                   limit: int = 200) -> list[Approval]:
    """Approvals, newest request last; `status=None` lists every status."""
    from tutti.direct.approvals import Approval

    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown approval status '{status}'", hint=f"use one of: {', '.join(STATUSES)}, all")
    where, params = [], []
    if status is not None:
        where.append("status = ?")
        params.append(status)
    if run_id:
        where.append("run_id = ?")
        params.append(run_id)
    sql = ("SELECT * FROM approvals" + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY requested_at DESC, rowid DESC LIMIT ?")
    rows = ws.store.query(sql, (*params, limit))
    return [Approval.from_row(r) for r in reversed(rows)]


def get_approval(ws: Workspace, approval_id: str) -> Approval:
    from tutti.direct.approvals import Approval

    rows = ws.store.query("SELECT * FROM approvals WHERE approval_id = ?", (approval_id,))
    if not rows:
        raise NotFoundError(f"approval '{approval_id}' not found",
                            hint="`tt approvals list --all` shows every approval and its id")
    return Approval.from_row(rows[0])


def decide(ws: Workspace, approval_id: str, approve: bool, *, by: str = "user",
           reason: str | None = None) -> Approval:
    """Approve or deny one pending approval (any process may call this). For a run live on
    Temporal the decision goes through its workflow (`distributed.approvals`)."""
    from tutti.direct import approvals

    found = get_approval(ws, approval_id)
    if found.status != "pending":
        raise UsageError(f"approval '{approval_id}' was already decided ({found.status})",
                         hint="each approval can be decided once")
    if on_temporal(ws, found.run_id):
        from tutti.distributed.approvals import decide as decide_on_temporal

        decided = decide_on_temporal(ws, found, approve, by=by, reason=reason)
        if decided is not None:
            return decided
    return approvals.decide(ws.store, found.run_id, approval_id, approve, by=by, reason=reason)


def on_temporal(ws: Workspace, run_id: str) -> bool:
    """A running run started on Temporal (runs on the local engine keep the store-only path)."""
    if ws.config.engine.kind != "temporal":
        return False
    rows = ws.store.query("SELECT status, json_extract(params, '$.engine') AS engine FROM runs WHERE run_id = ?",
                          (run_id,))
    return bool(rows) and rows[0]["status"] == "running" and rows[0]["engine"] == "temporal"


def request(ws: Workspace, run_id: str, tool: str, args: dict[str, Any], *, agent: str | None = None,
            approval_id: str | None = None) -> Approval:
    """Record a pending approval (e.g. the loop asking a human to allow a merge)."""
    from tutti.direct import approvals
    from tutti.direct.policy import ApprovalRequest

    approval_id = approval_id or f"ap_{secrets.token_hex(4)}"
    return approvals.request(ws.store, ApprovalRequest(approval_id, run_id, agent, tool, args))
