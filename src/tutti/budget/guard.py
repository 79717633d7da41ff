"""Budget guardrails (inventory §9.1): weekly token caps checked before `up`, `send`, `run`, `verify`.

Active when tutti.toml has `[budget]` AND the workspace's default profile (global config) has
`plan = "api"` — subscription plans are not billed per token. Used tokens = input +
cache_creation + cache_read + output since the profile's weekly reset (`reset_day`, 00:00 in the
machine's LOCAL time zone — the original used UTC, which resets mid-day for most users), summed
from the runtimes' own logs (`ops.usage`, an incremental scan) plus the tokens API-direct runs
recorded in the store's `runs` table (those write no runtime log, so nothing counts twice).

Caps: `workspace_weekly_tokens` (every agent) and `[budget.agent_weekly_tokens]` (the acting
agent only, when known). At `warn_threshold_pct` → warning + `budget.threshold`; at the cap →
`mode = "warn"`: warning; `mode = "enforce"`: `budget.blocked` + BudgetError.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tutti.errors import BudgetError, ConfigError

if TYPE_CHECKING:
    from tutti.config.models import GlobalConfig
    from tutti.workspace import Workspace

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ACTIONS = ("up", "send", "run", "verify")


@dataclass
class BudgetFinding:
    scope: str  # "workspace" or "agent 'name'"
    used: int
    cap: int
    pct: float
    level: str  # "threshold" | "exceeded"
    message: str


@dataclass
class BudgetCheck:
    action: str
    agent: str | None
    active: bool
    reason: str | None = None  # why not active
    since: str | None = None
    profile: str | None = None
    findings: list[BudgetFinding] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [f.message for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "warnings": self.warnings}


def week_start(reset_day: str, now: datetime | None = None, *, where: str = "reset_day") -> datetime:
    """00:00 local time of the most recent `reset_day` (today counts)."""
    day = (reset_day or "monday").strip().lower()
    if day not in DAYS:
        raise ConfigError(f"{where} = {reset_day!r} is not a day of the week",
                          hint=f"use one of: {', '.join(DAYS)}")
    now = (now or datetime.now().astimezone()).astimezone()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=(now.weekday() - DAYS.index(day)) % 7)


def used_tokens(ws: Workspace, since: datetime, *, env: dict[str, str] | None = None) -> dict[str, int]:
    """Tokens used since `since`: `{agent: tokens}` plus the workspace total under `""`.

    The runtime logs are scanned incrementally first (`tutti.usage.scan`: only appended bytes
    are read), then summed in SQL — no per-record Python work, so a check stays cheap however
    long the week's logs are (bench/bench_budget_check.py)."""
    from tutti.usage.scan import scan

    scan(ws, env)
    # The store keeps UTC `...Z` timestamps with milliseconds (as `ops.usage.parse_since` writes them).
    since_utc = since.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    out: dict[str, int] = {}
    total = 0
    for row in ws.store.query(
            "SELECT agent, SUM(input_tokens + cache_creation_tokens + cache_read_tokens + output_tokens) AS tokens "
            "FROM usage_records WHERE ts >= ? GROUP BY agent", (since_utc,)):
        tokens = int(row["tokens"] or 0)
        total += tokens
        if row["agent"]:
            out[row["agent"]] = tokens
    # API-direct runs write no runtime log: their tokens are on the run row (input incl. cached).
    for row in ws.store.query(
            "SELECT agent_scope, SUM(input_tokens + output_tokens) AS tokens FROM runs "
            "WHERE kind = 'direct' AND started_at >= ? GROUP BY agent_scope", (since_utc,)):
        tokens = int(row["tokens"] or 0)
        total += tokens
        if row["agent_scope"]:
            out[row["agent_scope"]] = out.get(row["agent_scope"], 0) + tokens
    out[""] = total
    return out


def check(ws: Workspace, action: str, agent: str | None = None, *, now: datetime | None = None,
          env: dict[str, str] | None = None, gc: GlobalConfig | None = None) -> BudgetCheck:
    """Check the budget before `action`; records `budget.threshold` / `budget.blocked` events.

    Returns the findings (the caller shows `warnings`); raises BudgetError when `mode =
    "enforce"` and a cap is reached."""
    result = BudgetCheck(action=action, agent=agent, active=False)
    budget = ws.config.budget
    if budget is None:
        result.reason = "no [budget] in tutti.toml"
        return result
    if gc is None:
        from tutti.config.global_config import load_global

        gc = load_global()
    name = ws.config.workspace.auth.default_profile
    profile = gc.profile(name) if name else None
    if profile is None or profile.plan != "api":
        result.reason = "the workspace's default profile is not plan = \"api\""
        return result
    result.active, result.profile = True, profile.name
    from tutti.paths import global_config_path

    since = week_start(profile.reset_day, now,
                       where=f"{global_config_path()}: profile[name={profile.name!r}].reset_day")
    result.since = since.isoformat()
    used = used_tokens(ws, since, env=env)
    caps: list[tuple[str, int, int]] = []
    if budget.workspace_weekly_tokens:
        caps.append(("workspace", used.get("", 0), budget.workspace_weekly_tokens))
    # As in the original: an action scoped to one agent checks that agent's cap; an unscoped
    # one (`tt run` without --agent) checks every agent's cap.
    for name, cap in budget.agent_weekly_tokens.items():
        if cap and (agent is None or agent == name):
            caps.append((f"agent '{name}'", used.get(name, 0), cap))
    blocked: BudgetFinding | None = None
    for scope, spent, cap in caps:
        pct = spent * 100.0 / cap
        if spent >= cap:
            tail = "continuing because budget.mode=warn" if budget.mode == "warn" else f"blocked {action}"
            finding = BudgetFinding(scope, spent, cap, round(pct, 1), "exceeded",
                                    f"{scope} budget exceeded ({spent}/{cap}) tokens; {tail}")
            if budget.mode == "enforce" and blocked is None:
                blocked = finding
        elif pct >= budget.warn_threshold_pct:
            finding = BudgetFinding(scope, spent, cap, round(pct, 1), "threshold",
                                    f"{scope} budget at ~{int(pct)}% ({spent}/{cap}) tokens before {action}")
        else:
            continue
        result.findings.append(finding)
        if finding is not blocked:
            ws.store.append_event("budget.threshold", agent=agent, data=_event(result, finding, budget.mode))
    if blocked is not None:
        ws.store.append_event("budget.blocked", agent=agent, data=_event(result, blocked, budget.mode))
        raise BudgetError(blocked.message, code="budget_exceeded",
                          hint="wait for the weekly reset, raise the cap in [budget] of tutti.toml, "
                               "or set budget.mode = \"warn\"")
    return result


def _event(check: BudgetCheck, f: BudgetFinding, mode: str) -> dict[str, Any]:
    return {"action": check.action, "scope": f.scope, "used": f.used, "cap": f.cap, "pct": f.pct,
            "level": f.level, "mode": mode, "profile": check.profile, "since": check.since}
