"""Auto-handoff trigger: when an agent's turn ends (a transition to idle, the moment its context
figure is final) and `[handoff] auto` is on, ask `gates.handoff.maybe_auto_handoff` whether a
packet is due. The decision (threshold, cooldown) and the packet itself live in `gates.handoff`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutti.runtimes.base import Detection
    from tutti.workspace import Workspace


class AutoHandoff:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def on_idle(self, agent: str, det: Detection) -> None:
        if not self.ws.config.handoff.auto or det.context_used_pct is None:
            return
        try:
            from tutti.gates.handoff import maybe_auto_handoff

            maybe_auto_handoff(self.ws, agent, det.context_used_pct)
        except Exception as exc:  # noqa: BLE001 - a daemon: log, keep watching
            print(f"supervisor: auto-handoff of {agent}: {exc}", file=sys.stderr)
