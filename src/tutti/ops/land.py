"""`tt land`: bring an agent's commits onto the project's current branch (inventory §7.1).

The landing itself (cherry-pick sequence, force-stash, WIP commit, PR) is
`tutti.gates.land.land_agent`, shared with the workflow `land` step; this use-case resolves the
agent reference and runs the merge gate (a local gate's workflow runs on the engine).
"""

from __future__ import annotations

from tutti.gates.land import STASH_MESSAGE, LandResult, land_agent  # noqa: F401 - re-exported
from tutti.ops.resolve import find_agent
from tutti.workspace import Workspace


def _enforce_gate(ws: Workspace, agent: str) -> str:
    """The merge gate's message (GateError when blocked); a local gate's workflow runs on the engine."""
    from tutti.gates.merge import enforce
    from tutti.workflows.engine import run_named

    return enforce(ws, agent, run_workflow=run_named).message


def land(ws: Workspace, agent: str, *, force: bool = False, pr: bool = False, gate: bool = False) -> LandResult:
    name = find_agent(ws, agent).name
    return land_agent(ws, name, force=force, pr=pr, gate=(lambda: _enforce_gate(ws, name)) if gate else None)
