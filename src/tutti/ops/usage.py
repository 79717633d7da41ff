"""`tt usage`: token usage per agent, read from the runtimes' own logs.

Every call first scans incrementally (only bytes appended since the last call are read, see
`tutti.usage.scan`), then sums the de-duplicated records in the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tutti.errors import NotFoundError, UsageError
from tutti.usage.records import UsageRecord, UsageTotals

if TYPE_CHECKING:
    from tutti.workspace import Workspace

UNATTRIBUTED = "(workspace)"  # records from the workspace root that no single agent owns


@dataclass
class AgentUsage:
    agent: str
    runtime: str | None
    totals: UsageTotals = field(default_factory=UsageTotals)
    last_ts: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"agent": self.agent, "runtime": self.runtime, "last_ts": self.last_ts, **self.totals.to_dict()}


@dataclass
class UsageReport:
    workspace: str
    since: str | None
    agents: list[AgentUsage]
    total: UsageTotals
    scan: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace, "since": self.since,
            "agents": [a.to_dict() for a in self.agents], "total": self.total.to_dict(), "scan": self.scan,
        }


def usage_report(ws: Workspace, *, agent: str | None = None, since: str | None = None,
                 env: dict[str, str] | None = None) -> UsageReport:
    """Usage per agent (every configured agent is listed, with zeros when it used nothing)."""
    from tutti.usage.scan import scan

    if agent is not None and ws.config.agent(agent) is None:
        known = ", ".join(a.name for a in ws.config.agents) or "(none)"
        raise NotFoundError(f"unknown agent '{agent}' in {ws.config_path}", hint=f"agents: {known}")
    since_ts = parse_since(since, ws=ws) if since else None
    stats = scan(ws, env)
    rows: dict[str, AgentUsage] = {}
    for a in ws.config.agents:
        if agent is None or a.name == agent:
            rows[a.name] = AgentUsage(a.name, ws.config.resolved_runtime(a))
    total = UsageTotals()
    for rec, rec_agent in _records(ws, agent=agent, since_ts=since_ts):
        name = rec_agent or UNATTRIBUTED
        row = rows.setdefault(name, AgentUsage(name, rec.runtime))
        row.totals.add(rec)
        row.last_ts = max(row.last_ts or "", rec.ts) or None
        total.add(rec)
    return UsageReport(ws.name, since_ts, list(rows.values()), total, stats.to_dict())


def usage_for_agent(ws: Workspace, agent: str, *, since: str | None = None) -> dict[str, Any]:
    """One agent's figures as a plain dict — what `tt status --json` and the API embed
    (`input_tokens`, `cache_creation_tokens`, `cache_read_tokens`, `output_tokens`,
    `reasoning_tokens`, `total_tokens`, `requests`, `models`, `last_ts`)."""
    report = usage_report(ws, agent=agent, since=since)
    row = next((a for a in report.agents if a.agent == agent), None)
    data = row.to_dict() if row else AgentUsage(agent, None).to_dict()
    data.pop("agent", None)
    return data


def usage_by_agent(ws: Workspace, *, since: str | None = None) -> dict[str, dict[str, Any]]:
    """Every agent's figures (one scan for all) — for `tt status --json` and the API's agent
    list: `{agent: usage_for_agent-shaped dict}`."""
    report = usage_report(ws, since=since)
    out = {}
    for row in report.agents:
        data = row.to_dict()
        data.pop("agent", None)
        out[row.agent] = data
    return out


@dataclass
class WorkspaceUsage:
    workspace: str
    path: str
    profile: str | None
    total: UsageTotals = field(default_factory=UsageTotals)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"workspace": self.workspace, "path": self.path, "profile": self.profile, "error": self.error,
                **self.total.to_dict()}


def usage_by_workspace(*, profile: str | None = None, since: str | None = None) -> list[WorkspaceUsage]:
    """`tt usage --by-workspace [-p PROFILE]`: totals of every registered workspace.

    With a profile, only workspaces whose `[workspace.auth].default_profile` is that profile —
    plus unassigned ones when it is the only profile configured (as the original tool did).
    """
    from tutti.ops.resolve import all_workspaces, load_global

    gc = load_global()
    if profile is not None and gc.profile(profile) is None:
        known = ", ".join(p.name for p in gc.profiles) or "(none configured)"
        raise NotFoundError(f"profile '{profile}' is not in the global config", hint=f"profiles: {known}")
    only_profile = len(gc.profiles) == 1
    out: list[WorkspaceUsage] = []
    for name, root, ws, error in all_workspaces():
        assigned = ws.config.workspace.auth.default_profile if ws is not None else None
        if profile is not None and not (assigned == profile or (assigned is None and only_profile)):
            continue
        row = WorkspaceUsage(name, str(root), assigned, error=error)
        if ws is not None:
            row.total = usage_report(ws, since=since).total
        out.append(row)
    return out


def _records(ws: Workspace, *, agent: str | None, since_ts: str | None):
    where, params = [], []
    if agent is not None:
        where.append("agent = ?")
        params.append(agent)
    if since_ts:
        where.append("ts >= ?")
        params.append(since_ts)
    sql = "SELECT * FROM usage_records" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY ts"
    for r in ws.store.query(sql, tuple(params)):
        rec = UsageRecord(
            key=r["key"], runtime=r["runtime"], ts=r["ts"], model=r["model"], session_id=r["session_id"],
            cwd=r["cwd"], input_tokens=r["input_tokens"], cache_creation_tokens=r["cache_creation_tokens"],
            cache_read_tokens=r["cache_read_tokens"], output_tokens=r["output_tokens"],
            reasoning_tokens=r["reasoning_tokens"],
        )
        yield rec, r["agent"]


_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, *, now: datetime | None = None, ws: Workspace | None = None, flag: str = "--since") -> str:
    """`30m`, `24h`, `7d`, `2w`, `today` (local midnight), `week` (since the workspace profile's
    reset day, local midnight), an ISO date or datetime → RFC3339 UTC (`...Z`)."""
    now = now or datetime.now(UTC)
    raw = text.strip().lower()
    m = _DURATION.match(raw)
    if m:
        when = now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    elif raw == "today":
        when = now.astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    elif raw == "week":
        when = week_start(workspace_reset_day(ws), now=now)
    else:
        try:
            when = datetime.fromisoformat(text.strip())
        except ValueError:
            raise UsageError(
                f"{flag} {text!r}: not a duration or date",
                hint="use e.g. 30m, 24h, 7d, 2w, today, week, 2026-11-24 or 2026-11-24T09:00:00Z",
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- cost attribution (`tt usage --by ...`) -----------------------------------------------------
@dataclass
class UsageBreakdown:
    workspace: str
    by: str
    since: str | None
    until: str | None
    groups: list[Any]
    total: Any

    def to_dict(self) -> dict[str, Any]:
        return {"workspace": self.workspace, "by": self.by, "since": self.since, "until": self.until,
                "groups": [g.to_dict() for g in self.groups], "total": self.total.to_dict()}


def usage_breakdown(ws: Workspace, *, by: str = "agent", since: str | None = None, until: str | None = None,
                    agent: str | None = None, env: dict[str, str] | None = None) -> UsageBreakdown:
    """Tokens and cost grouped `by` agent, runtime, provider, model, run or day — CLI agents from
    their logs (priced with the `[pricing]`-overridable table), API-direct calls from the store."""
    from tutti.direct.pricing import PriceTable
    from tutti.usage.attribution import GROUPINGS, StepWindows, cli_spends, direct_spends, group
    from tutti.usage.scan import scan

    if by not in GROUPINGS:
        raise UsageError(f"--by {by!r}: not a grouping", hint=f"use one of: {', '.join(GROUPINGS)}")
    since_ts = parse_since(since, ws=ws) if since else None
    until_ts = parse_since(until, ws=ws, flag="--until") if until else None
    scan(ws, env)
    window, params = _window_sql(since_ts, until_ts, agent)
    records = ws.store.query(f"SELECT * FROM usage_records WHERE 1=1{window} ORDER BY ts", params)
    steps = ws.store.query("SELECT ts, kind, agent, run_id, step FROM events WHERE kind LIKE 'workflow.step.%' "
                           "ORDER BY seq")
    calls = ws.store.query(f"SELECT ts, agent, run_id, data FROM events WHERE kind = 'direct.model_call'{window} "
                           "ORDER BY seq", params)
    prices = PriceTable({k: v for k, v in (ws.config.pricing or {}).items()})
    runtimes = {a.name: (ws.config.resolved_runtime(a) or "api-direct") for a in ws.config.agents}
    # A CLI record names the log format it was read from (the fake agent writes Claude's); group
    # by the agent's configured runtime, as the per-agent table does.
    cli = [replace(s, runtime=runtimes.get(s.agent or "", s.runtime)) for s in
           cli_spends(records, StepWindows(steps), prices)]
    spends = [*cli, *direct_spends(calls, runtimes)]
    groups, total = group(spends, by)
    return UsageBreakdown(ws.name, by, since_ts, until_ts, groups, total)


def _window_sql(since_ts: str | None, until_ts: str | None, agent: str | None) -> tuple[str, tuple]:
    sql, params = "", []
    if since_ts:
        sql += " AND ts >= ?"
        params.append(since_ts)
    if until_ts:
        sql += " AND ts < ?"
        params.append(until_ts)
    if agent:
        sql += " AND agent = ?"
        params.append(agent)
    return sql, tuple(params)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def week_start(reset_day: str, *, now: datetime | None = None) -> datetime:
    """Local midnight of the latest `reset_day` (today if it is that day) — a profile's week."""
    local = (now or datetime.now(UTC)).astimezone()
    back = (local.weekday() - WEEKDAYS.index(reset_day)) % 7
    return (local - timedelta(days=back)).replace(hour=0, minute=0, second=0, microsecond=0)


def workspace_reset_day(ws: Workspace | None) -> str:
    """The reset day of the workspace's default profile (the original's weekly budgets use it)."""
    if ws is None:
        return "monday"
    try:
        from tutti.ops.resolve import load_global

        name = ws.config.workspace.auth.default_profile
        profile = load_global().profile(name) if name else None
    except Exception:  # noqa: BLE001 - a broken global config must not break a usage report
        profile = None
    return profile.reset_day if profile is not None else "monday"
