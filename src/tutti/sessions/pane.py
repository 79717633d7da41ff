"""`PaneInfo`: what a session backend reports about an agent's one pane (its own module, so the
backend protocol and its tmux implementation both use it without importing each other)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class PaneInfo:
    """The one pane of an agent session."""

    session: str
    pane_id: str  # e.g. "%3" — the id control-mode notifications carry
    pid: int | None
    dead: bool  # the agent process exited (the pane remains for diagnosis)
    dead_status: int | None
    width: int
    height: int
    root: str = ""  # the workspace root it was launched for (`@tutti_root`); "" = not recorded

    def to_dict(self) -> dict:
        return asdict(self)
