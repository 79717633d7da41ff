"""The factory-floor view of agents: config plus the latest state event of each agent.

Pure store + config (no tmux, no host calls): it is what the dashboard paints its stations from, and it stays
cheap enough to call on every page load however many agents there are.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutti.workspace import Workspace

# event kind -> station state. Colours live in the dashboard; blocked = needs a human or a fix.
STATE_BY_KIND = {
    "agent.working": "working",
    "agent.idle": "idle",
    "agent.started": "idle",
    "agent.auth_recovered": "idle",
    "agent.provider_recovered": "idle",
    "agent.recovery_succeeded": "idle",
    "agent.stopped": "stopped",
    "agent.auth_failed": "auth_failed",
    "agent.rate_limited": "rate_limited",
    "agent.provider_down": "provider_down",
    "agent.waiting": "waiting",
    "agent.stuck": "stuck",
    "agent.recovery_attempted": "recovering",
    "agent.recovery_failed": "stuck",
    "agent.launch_failed": "launch_failed",
}
BLOCKED = {"auth_failed", "rate_limited", "provider_down", "waiting"}
WARNING = {"stuck", "recovering", "unknown", "launch_failed"}


def state_of(kind: str, data: dict[str, Any]) -> str | None:
    if kind in STATE_BY_KIND:
        return STATE_BY_KIND[kind]
    if kind == "agent.state":  # generic transition events carry the new state in their data
        value = data.get("to") or data.get("state")
        return str(value) if value else None
    return None


def agents(ws: Workspace) -> list[dict[str, Any]]:
    """Every configured agent with its state from the store's latest state event. An agent placed
    on another host (`[engine] kind = "temporal"`) is marked with it: its state events arrive
    forwarded from that host (`distributed.forwarder`), so no host is called here."""
    from tutti.distributed.remote import hosted

    kinds = list(STATE_BY_KIND) + ["agent.state"]
    marks = ",".join("?" * len(kinds))
    rows = ws.store.query(
        f"SELECT agent, kind, ts, seq, data FROM events WHERE seq IN ("
        f" SELECT MAX(seq) FROM events WHERE agent IS NOT NULL AND kind IN ({marks}) GROUP BY agent)",
        tuple(kinds),
    )
    latest = {r["agent"]: r for r in rows}
    out = []
    for agent in ws.config.agents:
        row = latest.get(agent.name)
        state, since, data = "stopped", None, {}
        if row is not None:
            data = json.loads(row["data"] or "{}")
            state = state_of(row["kind"], data) or "unknown"
            since = row["ts"]
        out.append({
            "workspace": ws.name,
            "agent": agent.name,
            "runtime": ws.config.resolved_runtime(agent) or agent.provider,
            "role": agent.role,
            "depends_on": list(agent.depends_on),
            "state": state,
            "state_since": since,
            "context_pct": data.get("context_pct", data.get("ctx_pct")),
            "session": ws.session_name(agent.name),
            "host": hosted(ws, agent.name),
        })
    return out


def health(ws: Workspace, agent: str) -> dict[str, Any] | None:
    """The original's AgentHealth record: `.tutti/state/health/{agent}.json` when a prober wrote
    one, else derived from the watcher's `.tutti/state/{agent}.json` (no probe is run here)."""
    probe = _read_json(ws.state_dir / "health" / f"{agent}.json")
    if isinstance(probe, dict):
        return {"workspace": ws.name, **probe}
    state_file = _read_json(ws.state_dir / f"{agent}.json")
    if not isinstance(state_file, dict):
        return None
    state = str(state_file.get("state") or "unknown")
    activity = state if state in {"working", "idle", "stopped"} else "unknown"
    cfg = ws.config.agent(agent)
    return {
        "workspace": ws.name, "agent": agent,
        "runtime": state_file.get("runtime") or (ws.config.resolved_runtime(cfg) if cfg else None),
        "session_name": state_file.get("session_name") or ws.session_name(agent),
        "running": state not in {"stopped", "unknown"}, "state": state, "activity_state": activity,
        "auth_state": "failed" if state == "auth_failed" else ("ok" if state != "unknown" else "unknown"),
        "last_probe_at": state_file.get("updated_at"), "reason": state_file.get("detail"),
        "status": state_file.get("status"),
    }


def _read_json(path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def workflows(ws: Workspace) -> list[dict[str, Any]]:
    """Workflows with their stages (one per step) — the dashboard's pipeline comes from here."""
    out = []
    for wf in ws.config.workflows:
        stages = []
        for i, step in enumerate(wf.steps, start=1):  # 1-based, like the engine's step_index
            agent = getattr(step, "agent", None)
            label = step.id or (f"{step.type}:{agent}" if agent else step.type)
            stages.append({"index": i, "id": step.id, "type": step.type, "agent": agent, "label": label})
        out.append({
            "workspace": ws.name, "name": wf.name, "description": wf.description,
            "schedule": wf.schedule, "steps": len(wf.steps), "stages": stages,
        })
    return out
