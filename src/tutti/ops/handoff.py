"""`tt handoff generate|apply|list` (inventory §9.6). The packets and the auto-handoff decision
live in `tutti.gates.handoff` (below `ops`, so workflow steps and the supervisor use them too);
`apply` — sending a packet to a running agent — is the use-case kept here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tutti.errors import AgentNotRunning, NotFoundError, TuttiError, UsageError
from tutti.gates.handoff import (  # noqa: F401 - the use-cases `tt handoff` and the API call
    AUTO_COOLDOWN_SECS,
    HandoffEntry,
    HandoffPacket,
    auto_trigger_pct,
    context_used_pct,
    generate,
    handoffs_dir,
    list_packets,
    maybe_auto_handoff,
    require_agent,
)
from tutti.paths import inside

if TYPE_CHECKING:
    from tutti.workspace import Workspace


def apply(ws: Workspace, agent: str, *, packet: str | None = None, force: bool = False) -> HandoffPacket:
    """Send a packet to the running agent — at most once per agent session: applying the same
    packet to the same session again is a no-op (`reason` "already-applied"), and an apply that
    was interrupted between sending and recording refuses to send again without `force` (the
    agent may already have it)."""
    require_agent(ws, agent)
    if packet:
        path = Path(packet)
        path = path if path.is_absolute() else ws.root / path
        if not inside(ws.root, path):
            raise UsageError(f"handoff packet {packet} is outside the workspace {ws.root}",
                             hint="use a packet under .tutti/handoffs/")
        if not path.is_file():
            raise NotFoundError(f"handoff packet not found: {path}", hint="see `tt handoff list`")
    else:
        newest = list_packets(ws, agent=agent, limit=1)
        if not newest:
            raise NotFoundError(f"no handoff packet found for agent '{agent}'", hint=f"tt handoff generate {agent}")
        path = Path(newest[0].path)
    from tutti.ops.review import agent_running, send_prompt

    if not agent_running(ws, agent):
        raise AgentNotRunning(f"agent '{agent}' is not running", hint=f"tt up {agent}")
    content = path.read_text(encoding="utf-8")
    session = _session_key(ws, agent)
    done = _apply_record(ws, agent, str(path), session)
    if done == "applied" and not force:
        return HandoffPacket(agent, str(path), "already-applied", None)
    if done == "started" and not force:
        raise TuttiError(f"an earlier apply of {path} to '{agent}' was interrupted after it began sending; "
                         "the agent may already have the packet",
                         hint=f"check with `tt peek {agent}`; resend with `tt handoff apply {agent} --force`")
    ws.store.append_event("handoff.apply_started", agent=agent, data={"packet": str(path), "session": session})
    send_prompt(ws, agent, (
        f"Apply this Tutti handoff packet and continue execution.\nPacket: {path}\n\n--- BEGIN HANDOFF ---\n"
        f"{content}\n--- END HANDOFF ---\n\nFirst, summarize your execution plan from the packet. Then continue."
    ))
    result = HandoffPacket(agent, str(path), "apply", None)
    ws.store.append_event("handoff.applied", agent=agent, data={**result.to_dict(), "session": session})
    return result


def _session_key(ws: Workspace, agent: str) -> str:
    """Which launch of the agent is running now (a restarted agent is a new session)."""
    from tutti.sessions import agent_state

    state = agent_state.read_state(ws.state_dir, agent) or {}
    return str(state.get("started_at") or "")


def _apply_record(ws: Workspace, agent: str, packet: str, session: str) -> str | None:
    """"applied", "started" (interrupted between sending and recording) or None for this
    packet in this session, from the event log."""
    import json

    rows = ws.store.query("SELECT kind, data FROM events WHERE agent = ? AND kind IN "
                          "('handoff.apply_started', 'handoff.applied') ORDER BY seq", (agent,))
    status = None
    for row in rows:
        data = json.loads(row["data"] or "{}")
        if data.get("packet") == packet and data.get("session") == session:
            status = "applied" if row["kind"] == "handoff.applied" else "started"
    return status
