"""What one `tt serve` process serves: its workspaces (by name), its auth token and options.

Passed explicitly to every route through `request.app.state.ctx` — no globals, no chdir.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tutti.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from tutti.serve.sse import EventHub
    from tutti.workspace import Workspace

_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass
class ServeContext:
    workspaces: dict[str, Workspace]
    token: str | None = None
    dashboard: bool = False
    keepalive_secs: float = 15.0
    poll_secs: float = 0.05
    queue_size: int = 2000
    hubs: dict[str, EventHub] = field(default_factory=dict)
    _mtimes: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, ws in self.workspaces.items():  # the config as loaded is the baseline
            try:
                self._mtimes[name] = ws.config_path.stat().st_mtime_ns
            except OSError:
                pass

    def workspace(self, name: str | None) -> Workspace:
        """The workspace a request addresses; required when serving more than one."""
        if name:
            ws = self.workspaces.get(name)
            if ws is None:
                known = ", ".join(sorted(self.workspaces)) or "none"
                raise NotFoundError(f"workspace '{name}' is not served here", hint=f"served workspaces: {known}")
            return self.fresh(ws)
        if len(self.workspaces) == 1:
            return self.fresh(next(iter(self.workspaces.values())))
        raise UsageError(
            "missing required field 'workspace'",
            hint=f"this server serves {len(self.workspaces)} workspaces: {', '.join(sorted(self.workspaces))}",
        )

    def selected(self, name: str | None) -> list[Workspace]:
        """One named workspace, or all of them (read endpoints aggregate)."""
        if name:
            return [self.workspace(name)]
        return [self.fresh(self.workspaces[k]) for k in sorted(self.workspaces)]

    def fresh(self, ws: Workspace) -> Workspace:
        """Reload tutti.toml when it changed on disk, so edits apply without restarting the server.

        The Workspace object (and its store) stays the same; only `config` is swapped. An invalid
        edit keeps the last good config and is reported once as a `serve.config_invalid` event."""
        try:
            mtime = ws.config_path.stat().st_mtime_ns
        except OSError:
            return ws
        seen = self._mtimes.setdefault(ws.name, mtime)
        if mtime == seen:
            return ws
        self._mtimes[ws.name] = mtime
        from tutti.config.load import load_config
        from tutti.errors import TuttiError

        try:
            loaded = load_config(ws.config_path)
        except TuttiError as exc:
            ws.store.append_event("serve.config_invalid", data={"error": exc.message, "hint": exc.hint})
            return ws
        if loaded.config.workspace.name != ws.name:
            ws.store.append_event("serve.config_invalid", data={
                "error": f"[workspace].name changed to '{loaded.config.workspace.name}'; restart `tt serve` to apply"})
            return ws
        ws.config = loaded.config
        ws.warnings = list(loaded.warnings)
        return ws

    def agent(self, ws: Workspace, agent: str) -> None:
        if ws.config.agent(agent) is None:
            raise NotFoundError(
                f"agent '{agent}' not found in workspace '{ws.name}'",
                hint=f"agents: {', '.join(a.name for a in ws.config.agents) or 'none'}",
            )

    def hub(self, ws: Workspace) -> EventHub:
        from tutti.serve.sse import EventHub

        hub = self.hubs.get(ws.name)
        if hub is None:
            hub = self.hubs[ws.name] = EventHub(ws, poll_secs=self.poll_secs, queue_size=self.queue_size)
        return hub


def check_id(kind: str, value: str) -> str:
    """Ids that become file names or keys: only [A-Za-z0-9_.-] (no traversal)."""
    if not _SAFE_ID.match(value) or value in {".", ".."}:
        raise UsageError(f"invalid {kind} '{value}': only [A-Za-z0-9_.-] allowed")
    return value
