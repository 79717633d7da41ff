"""`tt profiles`: each global profile's plan, reset day, concurrency in use against
`max_concurrent`, health, and this week's usage against its capacity."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutti.workspace import Workspace


@dataclass
class ProfileView:
    name: str
    provider: str | None
    plan: str | None
    reset_day: str
    priority: int | None
    max_concurrent: int | None
    in_use: int | None  # running agent sessions on it across registered workspaces (None: tmux unreachable)
    week_start: str
    week_tokens: int
    week_requests: int
    weekly_hours: float | None
    monthly_budget: float | None
    health: str  # ok | degraded | down | unknown (in this workspace's events)
    is_default: bool

    @property
    def at_capacity(self) -> bool:
        return bool(self.max_concurrent and self.in_use is not None and self.in_use >= self.max_concurrent)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "at_capacity": self.at_capacity}


def list_profiles(ws: Workspace | None) -> list[ProfileView]:
    from tutti.ops.health import provider_health
    from tutti.ops.resolve import load_global
    from tutti.ops.usage import usage_by_workspace, week_start

    gc = load_global()
    providers = {p.name: p.provider for p in gc.profiles}
    health = {h.profile: h.status for h in provider_health(ws, profiles=providers)} if ws is not None else {}
    default = ws.config.workspace.auth.default_profile if ws is not None else None
    views = []
    for p in gc.profiles:
        start = week_start(p.reset_day).astimezone().isoformat(timespec="seconds")
        rows = usage_by_workspace(profile=p.name, since=start)
        views.append(ProfileView(
            name=p.name, provider=p.provider, plan=p.plan, reset_day=p.reset_day, priority=p.priority,
            max_concurrent=p.max_concurrent, in_use=_in_use(gc, p.name, ws), week_start=start,
            week_tokens=sum(r.total.total_tokens for r in rows), week_requests=sum(r.total.requests for r in rows),
            weekly_hours=p.weekly_hours, monthly_budget=p.monthly_budget,
            health=health.get(p.name, "unknown"), is_default=p.name == default))
    return views


def _in_use(gc: Any, profile: str, ws: Workspace | None) -> int | None:
    if ws is None:
        return None
    try:
        from tutti.lifecycle.agents import (
            sessions_on_profile,  # the count `tt up` enforces max_concurrent with
        )
        from tutti.sessions.tmux import TmuxBackend

        return sessions_on_profile(gc, profile, TmuxBackend(), ws)
    except Exception:  # noqa: BLE001 - no tmux server: concurrency unknown, not an error
        return None
