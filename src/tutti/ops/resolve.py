"""The one resolver of agent references and workspaces (the original had five copies).

An agent reference is `agent` (in the current workspace) or `workspace/agent` (any workspace
in the global registry); it is split at the first `/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tutti.errors import ConfigError, NotFoundError, UsageError
from tutti.workspace import (  # noqa: F401 - find_agent, load_global, registry, all_workspaces re-exported
    Workspace,
    all_workspaces,
    find_agent,
    load_global,
    load_workspace,
    load_workspace_at,
    load_workspace_for_read,
    load_workspace_for_read_at,
    registry,
)

if TYPE_CHECKING:
    from tutti.config.models import Agent


@dataclass
class AgentRef:
    ws: Workspace
    agent: Agent

    @property
    def name(self) -> str:
        return self.agent.name

    @property
    def session(self) -> str:
        return self.ws.session_name(self.agent.name)


def workspace_by_name(name: str) -> Workspace:
    roots = registry()
    if name not in roots:
        known = ", ".join(sorted(roots)) or "(none registered)"
        raise NotFoundError(f"workspace '{name}' is not registered", hint=f"registered workspaces: {known}; run `tt init` in a project to register it")
    root = roots[name]
    if not (root / "tutti.toml").is_file():
        raise ConfigError(f"workspace '{name}' is registered at {root}, but {root / 'tutti.toml'} does not exist",
                          hint="fix or remove the [[registered_workspace]] entry in the global config")
    return load_workspace_at(root)


def current_workspace(name: str | None = None, start: Path | None = None, *, for_read: bool = False) -> Workspace:
    """`-w NAME` if given, else the workspace containing `start` (default cwd).

    Inside an agent's worktree (`ROOT/.tutti/worktrees/AGENT/...`, which holds its own checkout
    of tutti.toml) this is the project's workspace ROOT, not a nested copy — so an agent that
    runs `tt send other ...` talks to its teammates. `for_read`: a command that only reads the
    config (`tt status`) may get it from the validated-config cache (`load_workspace_for_read`)."""
    if name:
        return workspace_by_name(name)
    here = (start or Path.cwd()).resolve()
    parts = here.parts
    for i in range(len(parts) - 2):
        if parts[i] == ".tutti" and parts[i + 1] == "worktrees" and (Path(*parts[:i]) / "tutti.toml").is_file():
            return (load_workspace_for_read_at if for_read else load_workspace_at)(Path(*parts[:i]))
    return load_workspace_for_read(start) if for_read else load_workspace(start)


def resolve_agent(ref: str, ws: Workspace | None = None, *, start: Path | None = None) -> AgentRef:
    """`agent` or `workspace/agent` → (workspace, agent)."""
    ref = ref.strip()
    if not ref:
        raise UsageError("agent name cannot be empty", hint="pass an agent name, e.g. `tt peek backend`")
    if "/" in ref:
        ws_name, agent_name = ref.split("/", 1)
        if ws is None or ws.name != ws_name:
            ws = workspace_by_name(ws_name)
    else:
        agent_name = ref
        ws = ws or current_workspace(start=start)
    return AgentRef(ws, find_agent(ws, agent_name))
