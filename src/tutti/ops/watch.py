"""The operator's live view (`tt watch`) as data: one row per agent and a lane of workflow runs,
kept current from the event spine — no terminal here, and no tmux reads.

`WatchModel.load()` builds the rows once from the store (each agent's last state event, its last
prompt, its state file's context reading and profile) and then `apply(event)` moves them along
event by event, reading from a cursor (`read_new()`), so a state change is shown as soon as its
event is committed. Tokens and cost today come from `usage_breakdown(by="agent", since="today")`,
refreshed when an agent finishes a turn (and at most every `USAGE_MIN_SECS`).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutti.store.db import Event
    from tutti.workspace import Workspace

STATES = ("working", "idle", "waiting", "auth_failed", "rate_limited", "provider_down", "stopped", "unknown")
FAILING = ("auth_failed", "rate_limited", "provider_down", "waiting")
USAGE_MIN_SECS = 10.0
USAGE_DELAY_SECS = 1.0  # the CLI writes its usage line around the time its screen goes idle
RUN_LANE = 6  # runs shown: every active one, then the most recent finished ones
# Steps that got their work done — as `tt runs list` counts them (a failed step is not "done").
DONE_STEPS = ("success", "warning", "skipped")


@dataclass
class AgentRow:
    agent: str
    runtime: str | None
    state: str = "unknown"
    since: str | None = None  # ts of the event that put it in this state
    task: str | None = None  # the last prompt sent to it
    context_used_pct: float | None = None
    profile: str | None = None
    plan: str | None = None  # the profile's plan as the original's PLAN column shows it ("MAX"), None: "--"
    tokens_today: int = 0
    cost_today_usd: float = 0.0
    detail: str | None = None
    last_seq: int = 0  # the event that last changed this row
    last_ts: str | None = None

    @property
    def failing(self) -> bool:
        return self.state in FAILING


@dataclass
class RunRow:
    run_id: str
    workflow: str | None
    status: str
    started_at: str | None
    steps_total: int = 0
    steps_done: int = 0
    current: str | None = None  # the step running now
    failed_step: str | None = None


@dataclass
class WatchModel:
    ws: Workspace
    agents: dict[str, AgentRow] = field(default_factory=dict)
    runs: dict[str, RunRow] = field(default_factory=dict)
    cursor: int = 0
    approvals_pending: int = 0
    usage_at: float = 0.0
    usage_due: float | None = None  # a turn ended: re-read usage once its log line is written
    usage_error: str | None = None
    plans: dict[str, str] = field(default_factory=dict)  # profile name -> plan, from the global config

    # -- loading ------------------------------------------------------------------------------
    def load(self) -> WatchModel:
        from tutti.sessions import agent_state

        self.cursor = self.ws.store.latest_seq()
        self.plans = plans = _plans()
        for cfg in self.ws.config.agents:
            saved = agent_state.read_state(self.ws.state_dir, cfg.name) or {}
            row = AgentRow(cfg.name, self.ws.config.resolved_runtime(cfg) or ("api-direct" if cfg.provider else None),
                           state=str(saved.get("state") or "unknown"), context_used_pct=saved.get("context_used_pct"),
                           profile=saved.get("profile") or self.ws.config.workspace.auth.default_profile,
                           detail=saved.get("detail"))
            row.plan = plan_label(plans.get(row.profile or ""))
            self.agents[cfg.name] = row
        self._load_agent_events()
        self._load_runs()
        self.refresh_usage(force=True)
        self.refresh_approvals()
        return self

    def _load_agent_events(self) -> None:
        store = self.ws.store
        rows = store.query(
            "SELECT e.* FROM events e JOIN (SELECT agent, MAX(seq) AS seq FROM events WHERE agent IS NOT NULL "
            "AND kind IN (" + ",".join("?" * len(STATES)) + ") GROUP BY agent) last ON e.seq = last.seq",
            tuple(f"agent.{s}" for s in STATES))
        for r in rows:
            row = self.agents.get(r["agent"])
            if row is not None:
                row.state, row.since, row.last_seq, row.last_ts = r["kind"][6:], r["ts"], r["seq"], r["ts"]
        prompts = store.query(
            "SELECT e.agent, e.data FROM events e JOIN (SELECT agent, MAX(seq) AS seq FROM events "
            "WHERE kind = 'agent.prompt_sent' GROUP BY agent) last ON e.seq = last.seq")
        for r in prompts:
            row = self.agents.get(r["agent"])
            if row is not None:
                row.task = _prompt_text(json.loads(r["data"] or "{}"))

    def _load_runs(self) -> None:
        rows = self.ws.store.query(
            "SELECT run_id FROM runs WHERE status IN ('running', 'pending') "
            "UNION SELECT run_id FROM (SELECT run_id FROM runs ORDER BY started_at DESC LIMIT ?)", (RUN_LANE,))
        self._reload_runs([r["run_id"] for r in rows])

    def _reload_runs(self, run_ids: list[str]) -> None:
        """Read these runs' rows and steps from the store (the truth; events only say which changed)."""
        if not run_ids:
            return
        marks = ",".join("?" * len(run_ids))
        runs = self.ws.store.query(f"SELECT run_id, workflow, status, started_at, params FROM runs "
                                   f"WHERE run_id IN ({marks})", tuple(run_ids))
        steps: dict[str, list[Any]] = {}
        for s in self.ws.store.query(f"SELECT run_id, step_key, status FROM steps WHERE run_id IN ({marks}) "
                                     "ORDER BY step_index", tuple(run_ids)):
            steps.setdefault(s["run_id"], []).append(s)
        for r in runs:
            plan = json.loads(r["params"] or "{}").get("plan", [])
            run = RunRow(r["run_id"], r["workflow"], r["status"], r["started_at"], steps_total=len(plan))
            for s in steps.get(run.run_id, []):
                if s["status"] in DONE_STEPS:
                    run.steps_done += 1
                if s["status"] == "running":
                    run.current = s["step_key"]
                if s["status"] == "failed":
                    run.failed_step = s["step_key"]
            run.steps_total = max(run.steps_total, len(steps.get(run.run_id, [])))
            self.runs[run.run_id] = run
        if len(self.runs) > RUN_LANE * 2:
            keep = sorted(self.runs.values(), key=lambda x: x.started_at or "", reverse=True)[:RUN_LANE * 2]
            self.runs = {x.run_id: x for x in keep}

    # -- live updates -------------------------------------------------------------------------
    def read_new(self, limit: int = 500) -> list[Event]:
        events = self.ws.store.read_events(self.cursor, limit=limit)
        touched: list[str] = []
        for event in events:
            self.apply(event)
            if event.kind.startswith("workflow.") and event.run_id and event.run_id not in touched:
                touched.append(event.run_id)
        self._reload_runs(touched)
        return events

    def apply(self, event: Event) -> None:
        self.cursor = max(self.cursor, event.seq)
        kind = event.kind
        row = self.agents.get(event.agent or "")
        if kind.startswith("agent.") and row is not None:
            self._apply_agent(row, event)
        elif kind.startswith("approval.") or kind.startswith("direct.approval."):
            self.refresh_approvals()

    def _apply_agent(self, row: AgentRow, event: Event) -> None:
        state = event.kind[6:]
        if state in STATES:
            row.state, row.since, row.detail = state, event.ts, event.data.get("detail")
            row.last_seq, row.last_ts = event.seq, event.ts
            if event.data.get("context_used_pct") is not None:  # the watcher's reading, as in the state file
                row.context_used_pct = event.data["context_used_pct"]
            if state == "idle":
                self.usage_due = self.usage_due or time.monotonic() + USAGE_DELAY_SECS
                self._context(row)
        elif event.kind == "agent.prompt_sent":
            row.task = _prompt_text(event.data)
            row.last_seq, row.last_ts = event.seq, event.ts
        elif event.kind == "agent.started":
            self._context(row)
            row.profile = row.profile or event.data.get("profile")

    def _context(self, row: AgentRow) -> None:
        from tutti.sessions import agent_state

        saved = agent_state.read_state(self.ws.state_dir, row.agent) or {}
        row.context_used_pct = saved.get("context_used_pct", row.context_used_pct)
        row.profile = saved.get("profile") or row.profile
        row.plan = plan_label(self.plans.get(row.profile or "")) if row.profile else row.plan

    def tick(self) -> bool:
        """Deferred work due now (the usage re-read after a turn); True when the rows changed."""
        if self.usage_due is None or time.monotonic() < self.usage_due:
            return False
        self.usage_due = None
        self.refresh_usage(force=True)
        return True

    def refresh_usage(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.usage_at < USAGE_MIN_SECS:
            return
        self.usage_at = now
        from tutti.errors import TuttiError
        from tutti.ops.usage import usage_breakdown

        try:
            report = usage_breakdown(self.ws, by="agent", since="today")
        except (TuttiError, OSError) as exc:  # usage is extra: never stop the view over it
            self.usage_error = str(exc)
            return
        for group in report.groups:
            g = group.to_dict()
            row = self.agents.get(str(g.get("key") or g.get("agent") or ""))
            if row is not None:
                row.tokens_today = int(g.get("total_tokens") or sum(
                    int(g.get(k) or 0) for k in ("input_tokens", "output_tokens", "cache_read_tokens",
                                                 "cache_creation_tokens")))
                row.cost_today_usd = float(g.get("cost_usd") or 0.0)

    def refresh_approvals(self) -> None:
        try:
            rows = self.ws.store.query("SELECT COUNT(*) FROM approvals WHERE status = 'pending'")
            self.approvals_pending = int(rows[0][0])
        except Exception:  # noqa: BLE001 — an older store without the table
            self.approvals_pending = 0

    # -- reading -------------------------------------------------------------------------------
    def failing(self) -> list[str]:
        return [name for name, row in self.agents.items() if row.failing]

    def lane(self) -> list[RunRow]:
        runs = sorted(self.runs.values(), key=lambda r: (r.status != "running", r.started_at or ""), reverse=False)
        active = [r for r in runs if r.status in ("running", "pending")]
        done = sorted((r for r in runs if r not in active), key=lambda r: r.started_at or "", reverse=True)
        return (active + done)[:RUN_LANE]

    def snapshot(self, now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        agents = []
        for row in self.agents.values():
            d = asdict(row)
            d["age_secs"] = age_secs(row.since, now)
            agents.append(d)
        return {"workspace": self.ws.name, "cursor": self.cursor, "agents": agents,
                "runs": [asdict(r) for r in self.lane()], "approvals_pending": self.approvals_pending,
                "failing": self.failing(), "usage_error": self.usage_error}


def age_secs(ts: str | None, now: datetime) -> float | None:
    if not ts:
        return None
    try:
        then = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None
    return round(max(0.0, (now - then).total_seconds()), 1)


def _prompt_text(data: dict[str, Any]) -> str | None:
    text = data.get("text") or data.get("prompt")
    return " ".join(str(text).split())[:500] if text else None


def plan_label(plan: str | None) -> str | None:
    """The original's PLAN cell: the plan trimmed and upper-cased; blank or unknown is None ("--")."""
    text = (plan or "").strip()
    return text.upper() or None


def _plans() -> dict[str, str]:
    try:
        from tutti.ops.resolve import load_global

        return {p.name: p.plan for p in load_global().profiles if getattr(p, "plan", None)}
    except Exception:  # noqa: BLE001 — a broken global config shows as no plan, not as a crash
        return {}
