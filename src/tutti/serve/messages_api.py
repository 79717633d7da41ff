"""`GET /v1/messages`: agent-to-agent messages, newest first (the API side of `tt msg list`;
posting is the `message` action in serve.actions)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from tutti.serve.envelope import ok
from tutti.serve.operations import operation
from tutti.serve.reads import WorkspaceQ, act, ctx_of

router = APIRouter(prefix="/v1", tags=["read"])


@router.get("/messages", dependencies=[act("messages.list")])
def messages_list(request: Request, workspace: str | None = WorkspaceQ,
                  agent: str | None = Query(None, description="only messages from or to this agent"),
                  status: str | None = Query(None, description="pending | delivering | delivered | failed"),
                  limit: int = Query(100, ge=1, le=1000)):
    list_messages = operation("messages", "list_messages")
    rows = [{**m.to_dict(), "workspace": ws.name} for ws in ctx_of(request).selected(workspace)
            for m in list_messages(ws, agent=agent, status=status, limit=limit)]
    return ok("messages.list", rows)
