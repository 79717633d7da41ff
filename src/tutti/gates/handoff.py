"""Handoff packets (inventory §9.6): generate, list, and the auto-handoff decision.

`tt handoff apply` (sending a packet to a running agent) is a use-case: `tutti.ops.handoff`.

Fixes over the original:
* context % is read as *used* (the adapter's `Detection.context_used_pct`, normalised per
  runtime — Claude and Codex show what is *left*), so the threshold is not inverted;
* packets of agent `api` are never confused with `api-gateway` (exact `{agent}-handoff-{stamp}`
  parsing instead of prefix matching);
* auto-handoff has a cooldown, so a stuck agent does not produce a packet every tick.

`[handoff] threshold` is the fraction of context LEFT at which to hand off (default 0.2): the
trigger is `used >= 100 - threshold*100`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti.errors import NotFoundError, UsageError
from tutti.fsutil import write_text_atomic

if TYPE_CHECKING:
    from tutti.workspace import Workspace

CAPTURE_LINES = 120
RECENT_LINES = 40
MAX_CHANGED_FILES = 25
AUTO_COOLDOWN_SECS = 300
NEXT_PROMPT = "Use this packet to resume work. First restate the plan, then continue from the latest task."
_NAME = re.compile(r"^(?P<agent>.+)-(?P<kind>handoff|emergency)-(?P<stamp>\d{8}-\d{6})(?:-\d+)?\.md$")


@dataclass
class HandoffPacket:
    agent: str
    packet: str
    reason: str
    ctx_pct: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class HandoffEntry:
    agent: str
    path: str
    modified: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def handoffs_dir(ws: Workspace) -> Path:
    return ws.tutti_dir / "handoffs"


def require_agent(ws: Workspace, agent: str):
    cfg = ws.config.agent(agent)
    if cfg is None:
        known = ", ".join(a.name for a in ws.config.agents) or "(none)"
        raise NotFoundError(f"agent '{agent}' not found in {ws.config_path}", hint=f"known agents: {known}")
    return cfg


def _capture(ws: Workspace, agent: str) -> str | None:
    from tutti.sessions.backend import default_backend

    backend = default_backend()
    session = ws.session_name(agent)
    if not backend.exists(session):
        return None
    return backend.capture(session, scrollback=CAPTURE_LINES)


def context_used_pct(ws: Workspace, agent: str, screen: str | None) -> float | None:
    """Context window *used* per the runtime adapter (None when the screen does not show it)."""
    if not screen:
        return None
    cfg = require_agent(ws, agent)
    runtime = ws.config.resolved_runtime(cfg)
    if not runtime:
        return None
    from tutti.runtimes.registry import get_adapter

    try:
        return get_adapter(runtime, ws.config).classify(screen).context_used_pct
    except Exception:  # noqa: BLE001 - an unknown runtime must not stop a handoff
        return None


def _changed_files(ws: Workspace, agent: str) -> list[str]:
    from tutti import proc

    cwd = ws.worktree_path(agent) if ws.worktree_path(agent).is_dir() else ws.root
    res = proc.run(["git", "status", "--porcelain"], cwd=cwd, timeout=60)
    return [line for line in res.stdout.splitlines() if line.strip()][:MAX_CHANGED_FILES] if res.ok else []


def _last_prompt(ws: Workspace, agent: str) -> str | None:
    """The last prompt sent to the agent (what it is working on), not the screen's footer line."""
    import json

    rows = ws.store.query("SELECT data FROM events WHERE kind = 'agent.prompt_sent' AND agent = ? "
                          "ORDER BY seq DESC LIMIT 1", (agent,))
    text = json.loads(rows[0]["data"] or "{}").get("text") if rows else None
    return text.strip() if isinstance(text, str) and text.strip() else None


def _verify_summary(ws: Workspace) -> list[str]:
    rows = ws.store.query("SELECT run_id, status, finished_at FROM runs WHERE workflow = 'verify' "
                          "ORDER BY started_at DESC LIMIT 1")
    if not rows:
        return []
    r = rows[0]
    return [f"- Last verify run {r['run_id']}: {r['status']} (finished {r['finished_at'] or '-'})"]


def generate(ws: Workspace, agent: str, *, reason: str = "manual", ctx: float | None = None,
             now: datetime | None = None) -> HandoffPacket:
    require_agent(ws, agent)
    screen = _capture(ws, agent)
    used = ctx if ctx is not None else context_used_pct(ws, agent, screen)
    lines = [line.strip() for line in (screen or "").splitlines() if line.strip()][-RECENT_LINES:]
    task = _last_prompt(ws, agent) or (lines[-1] if lines else "(no recent output)")
    changed = _changed_files(ws, agent)
    verify = _verify_summary(ws)
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    directory = handoffs_dir(ws)
    path = directory / f"{agent}-handoff-{stamp}.md"
    n = 1
    while path.exists():
        n += 1
        path = directory / f"{agent}-handoff-{stamp}-{n}.md"
    ctx_text = f"{used:.0f}%" if used is not None else "--"
    recent = "\n".join(lines) if screen is not None else "(session not running)"
    text = (
        f"# Tutti Handoff: {agent}\n\n## Metadata\n- Workspace: {ws.name}\n- Agent: {agent}\n"
        f"- Generated: {datetime.now(UTC).isoformat(timespec='seconds')}\n- Trigger: {reason}\n"
        f"- CTX: {ctx_text}\n\n## Active Task Guess\n{task}\n\n## Changed Files\n"
        + ("\n".join(f"- {c}" for c in changed) or "- (none detected)")
        + "\n\n## Verify Status\n" + ("\n".join(verify) or "- (no verify summary found)")
        + f"\n\n## Recent Output\n```text\n{recent}\n```\n\n## Next Prompt Template\n{NEXT_PROMPT}\n"
    )
    write_text_atomic(path, text)
    packet = HandoffPacket(agent, str(path), reason, used)
    ws.store.append_event("handoff.generated", agent=agent, data=packet.to_dict())
    return packet


def list_packets(ws: Workspace, *, agent: str | None = None, limit: int = 20) -> list[HandoffEntry]:
    if limit < 1:
        raise UsageError("--limit must be at least 1")
    directory = handoffs_dir(ws)
    if not directory.is_dir():
        return []
    entries = []
    for path in directory.glob("*.md"):
        m = _NAME.match(path.name)
        if m is None or (agent is not None and m.group("agent") != agent):
            continue
        mtime = path.stat().st_mtime
        entries.append((mtime, HandoffEntry(m.group("agent"), str(path),
                                            datetime.fromtimestamp(mtime, UTC).isoformat(timespec="seconds"))))
    entries.sort(key=lambda e: (e[0], e[1].path), reverse=True)
    return [e for _, e in entries[:limit]]


def auto_trigger_pct(threshold: float) -> float:
    """Context *used* at which to hand off: threshold is the fraction LEFT (0.2 → 80% used)."""
    return 100.0 - max(0.0, min(1.0, threshold)) * 100.0


def maybe_auto_handoff(ws: Workspace, agent: str, used_pct: float | None, *, now: datetime | None = None,
                       cooldown_secs: float = AUTO_COOLDOWN_SECS) -> HandoffPacket | None:
    """Generate an `auto_ctx_threshold` packet when `[handoff] auto` is on, the agent's context
    use reached the trigger, and it has no packet younger than the cooldown. Called by watch
    loops / after prompt steps with the adapter's `context_used_pct`."""
    cfg = ws.config.handoff
    if not cfg.auto or used_pct is None or used_pct < auto_trigger_pct(cfg.threshold):
        return None
    now = now or datetime.now(UTC)
    latest = list_packets(ws, agent=agent, limit=1)
    if latest:
        age = now.timestamp() - Path(latest[0].path).stat().st_mtime
        if age < cooldown_secs:
            return None
    return generate(ws, agent, reason="auto_ctx_threshold", ctx=used_pct)
