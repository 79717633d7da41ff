"""Human approval of tool calls through the store: one row per request, decided by anyone.

The loop's `StoreApprover` inserts a pending row (and a `direct.approval.requested` event) and
waits; `decide()` — called by `ops.direct.decide_approval` from the CLI or the HTTP API, in any
process — flips it to approved/denied (and appends `direct.approval.decided`). Waiting gives up
(deny) on timeout or when the run is cancelled.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from tutti.direct.policy import ApprovalRequest
from tutti.errors import NotFoundError, UsageError
from tutti.store.db import Store, now_iso


@dataclass
class Approval:
    approval_id: str
    run_id: str
    agent: str | None
    tool: str
    args: dict[str, Any]
    status: str
    requested_at: str
    decided_at: str | None = None
    decided_by: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_row(cls, row: Any) -> Approval:
        return cls(
            row["approval_id"],
            row["run_id"],
            row["agent"],
            row["tool"],
            json.loads(row["args"] or "{}"),
            row["status"],
            row["requested_at"],
            row["decided_at"],
            row["decided_by"],
            row["reason"],
        )


def request(store: Store, req: ApprovalRequest) -> Approval:
    from tutti.direct.events import summarize_args

    args = summarize_args(req.tool, req.args)
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO approvals (approval_id, run_id, agent, tool, args, status, requested_at) "
            "VALUES (?, ?, ?, ?, ?, 'pending', ?)",
            (req.approval_id, req.run_id, req.agent, req.tool, json.dumps(args), now_iso()),
        )
        store.append_event(
            "direct.approval.requested",
            agent=req.agent,
            run_id=req.run_id,
            conn=conn,
            data={"approval_id": req.approval_id, "tool": req.tool, "args": args},
        )
    return get(store, req.run_id, req.approval_id)


def get(store: Store, run_id: str, approval_id: str) -> Approval:
    rows = store.query("SELECT * FROM approvals WHERE approval_id = ? AND run_id = ?", (approval_id, run_id))
    if not rows:
        raise NotFoundError(
            f"approval '{approval_id}' not found in run '{run_id}'",
            hint="list pending approvals with the run's events (direct.approval.requested)",
        )
    return Approval.from_row(rows[0])


def pending(store: Store, run_id: str | None = None) -> list[Approval]:
    sql = (
        "SELECT * FROM approvals WHERE status = 'pending'"
        + (" AND run_id = ?" if run_id else "")
        + " ORDER BY requested_at"
    )
    return [Approval.from_row(r) for r in store.query(sql, (run_id,) if run_id else ())]


def decide(
    store: Store, run_id: str, approval_id: str, approve: bool, *, by: str = "user", reason: str | None = None
) -> Approval:
    status = "approved" if approve else "denied"
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT status, agent FROM approvals WHERE approval_id = ? AND run_id = ?", (approval_id, run_id)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"approval '{approval_id}' not found in run '{run_id}'")
        if row["status"] != "pending":
            raise UsageError(
                f"approval '{approval_id}' was already decided ({row['status']})",
                hint="each approval can be decided once",
            )
        conn.execute(
            "UPDATE approvals SET status = ?, decided_at = ?, decided_by = ?, reason = ? "
            "WHERE approval_id = ?",
            (status, now_iso(), by, reason, approval_id),
        )
        store.append_event(
            "direct.approval.decided",
            agent=row["agent"],
            run_id=run_id,
            conn=conn,
            data={"approval_id": approval_id, "decision": status, "by": by, "reason": reason},
        )
    return get(store, run_id, approval_id)


class StoreApprover:
    """An `Approver` that records the request and waits for a decision row."""

    def __init__(
        self,
        store: Store,
        *,
        timeout_secs: float = 3600.0,
        poll_secs: float = 0.2,
        cancel: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.timeout_secs = timeout_secs
        self.poll_secs = poll_secs
        self.cancel = cancel or threading.Event()

    def __call__(self, req: ApprovalRequest) -> bool | str:
        import time

        request(self.store, req)
        deadline = time.monotonic() + self.timeout_secs
        while time.monotonic() < deadline:
            current = get(self.store, req.run_id, req.approval_id)
            if current.status == "approved":
                return True
            if current.status == "denied":
                return current.reason or f"denied by {current.decided_by or 'user'}"
            if self.cancel.wait(self.poll_secs):
                return self._expire(req, "run cancelled while waiting for approval")
        return self._expire(req, f"no decision within {self.timeout_secs:g}s")

    def _expire(self, req: ApprovalRequest, why: str) -> str:
        try:
            decide(self.store, req.run_id, req.approval_id, False, by="timeout", reason=why)
        except UsageError:
            current = get(self.store, req.run_id, req.approval_id)
            return True if current.status == "approved" else (current.reason or "denied")  # type: ignore[return-value]
        return why
