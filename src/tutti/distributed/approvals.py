"""Approvals of runs on Temporal: a decision goes through the run's workflow.

`tt approvals approve|deny` and `POST /v1/actions/approve` call `ops.approvals.decide`, which
sends the decision here when the approval belongs to a run live on Temporal. `decide` is the
client side — a `decide_approval` update on the `TuttiRun` workflow whose id is the approval's
run id; `record` is the activity body behind it, on the control worker, which writes the
decision into the control store exactly as the local path does (`direct.approvals.decide`).
So the decision is in the workflow's history (the update and its activity) and survives any
crash, and the waiting step — polling its approval row — sees it as before.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from tutti.errors import NotFoundError, TuttiError, UsageError

if TYPE_CHECKING:
    from tutti.direct.approvals import Approval
    from tutti.workspace import Workspace

UPDATE = "decide_approval"
_ERRORS = {"not_found": NotFoundError, "usage": UsageError}


def record(ws: Workspace, inp: dict[str, Any]) -> dict[str, Any]:
    """The `tutti.decide_approval` activity: the store's decision, or the store's refusal."""
    from tutti.direct import approvals

    return approvals.decide(ws.store, inp["run_id"], inp["approval_id"], bool(inp["approve"]),
                            by=inp.get("by") or "user", reason=inp.get("reason")).to_dict()


def decide(ws: Workspace, approval: Approval, approve: bool, *, by: str, reason: str | None) -> Approval | None:
    """Decide through the run's workflow; None when that workflow is no longer running (the
    caller then decides in the store, as for a local run)."""
    from tutti.direct.approvals import Approval

    data = asyncio.run(_update(ws, approval.run_id, {"approval_id": approval.approval_id, "approve": approve,
                                                      "by": by, "reason": reason}))
    return None if data is None else Approval(**data)


async def _update(ws: Workspace, run_id: str, arg: dict[str, Any]) -> dict[str, Any] | None:
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.exceptions import ApplicationError
    from temporalio.service import RPCError, RPCStatusCode

    from tutti.distributed.client import connect

    client = await connect(ws)
    handle = client.get_workflow_handle(run_id)
    try:
        return await handle.execute_update(UPDATE, arg)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError):
            hint = str(cause.details[0]) if cause.details else None
            raise _ERRORS.get(cause.type or "", TuttiError)(cause.message, hint=hint) from None
        raise TuttiError(f"run {run_id} refused the decision on {arg['approval_id']}: {exc}") from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # the workflow finished (or never ran on Temporal)
            return None
        raise TuttiError(f"cannot send the decision to run {run_id} on Temporal: {exc.message}",
                         hint="is the Temporal service up? (`tt doctor`)") from None
