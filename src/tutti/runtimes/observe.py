"""One observation of an agent's pane: capture the screen, classify it with the agent's adapter.

The single place where a session (tmux, `tutti.sessions`) meets a runtime adapter's rules; the
supervisor's watcher, `tt status`, `tt send --wait`, settle waits and workflow steps all use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tutti.runtimes.base import AgentState, Detection, RuntimeAdapter

if TYPE_CHECKING:
    from tutti.sessions.pane import PaneInfo
    from tutti.sessions.tmux import TmuxBackend


def classify_pane(backend: TmuxBackend, session: str, adapter: RuntimeAdapter) -> tuple[Detection, str]:
    """(detection, visible screen). A dead pane is `stopped`, whatever its last screen says."""
    pane, screen = backend.snapshot(session)
    return classify_snapshot(pane, screen, adapter), screen


def classify_snapshot(pane: PaneInfo | None, screen: str, adapter: RuntimeAdapter) -> Detection:
    """The detection for a pane and screen already read (`TmuxBackend.snapshots` reads many
    sessions at once for `tt status`)."""
    if pane is None:
        return Detection(AgentState.STOPPED, 1.0, ["session:gone"], "session not found")
    if pane.dead:
        status = f"exit status {pane.dead_status}" if pane.dead_status is not None else "exited"
        det = adapter.classify(screen)
        detail = f"agent process {status}" + (f"; last screen: {det.state.value}" if det.state is not AgentState.UNKNOWN else "")
        evidence = ["session:pane_dead", *det.evidence]
        return Detection(AgentState.STOPPED, 1.0, evidence, det.detail or detail)
    return adapter.classify(screen)
