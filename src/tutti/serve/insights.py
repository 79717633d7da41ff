"""Cost and health reads (GET): usage and cost by any grouping, provider health, profiles —
the same ops functions `tt usage --by`, `tt health` and `tt profiles` call."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from tutti.serve.envelope import ok
from tutti.serve.operations import operation
from tutti.serve.reads import WorkspaceQ, act, ctx_of

router = APIRouter(prefix="/v1", tags=["read"])


@router.get("/usage", dependencies=[act("usage.list")])
def usage_list(request: Request, workspace: str | None = WorkspaceQ,
               by: str = Query("agent", description="agent | runtime | provider | model | run | day"),
               since: str | None = Query(None, description="30m, 24h, 7d, today, week, or an ISO date/time"),
               until: str | None = None, agent: str | None = None):
    breakdown = operation("usage", "usage_breakdown")
    rows = [{**breakdown(ws, by=by, since=since, until=until, agent=agent).to_dict(), "workspace": ws.name}
            for ws in ctx_of(request).selected(workspace)]
    return ok("usage.list", rows)


@router.get("/providers", dependencies=[act("providers.list")])
def providers_list(request: Request, workspace: str | None = WorkspaceQ,
                   window: str = Query("1h", description="error-rate window: 30m, 1h, 24h …")):
    health = operation("health", "provider_health")
    rows = [{**h.to_dict(), "workspace": ws.name}
            for ws in ctx_of(request).selected(workspace) for h in health(ws, window=window)]
    return ok("providers.list", rows)


@router.get("/profiles", dependencies=[act("profiles.list")])
def profiles_list(request: Request, workspace: str | None = WorkspaceQ):
    selected = ctx_of(request).selected(workspace)
    views = operation("profiles", "list_profiles")(selected[0] if selected else None)
    return ok("profiles.list", [v.to_dict() for v in views])
