"""`tt handoff generate|apply|list` (inventory §9.6). The packets and the auto-handoff decision
live in `tutti.gates.handoff` (below `ops`, so workflow steps and the supervisor use them too);
`apply` — sending a packet to a running agent — is the use-case kept here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tutti.errors import AgentNotRunning, NotFoundError, UsageError
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


def apply(ws: Workspace, agent: str, *, packet: str | None = None) -> HandoffPacket:
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
    send_prompt(ws, agent, (
        f"Apply this Tutti handoff packet and continue execution.\nPacket: {path}\n\n--- BEGIN HANDOFF ---\n"
        f"{content}\n--- END HANDOFF ---\n\nFirst, summarize your execution plan from the packet. Then continue."
    ))
    result = HandoffPacket(agent, str(path), "apply", None)
    ws.store.append_event("handoff.applied", agent=agent, data=result.to_dict())
    return result
