"""Which forge the loop talks to for pull requests: none unless `[loop] pr = true`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutti.loop.forge_link import ForgeLink
    from tutti.workspace import Workspace


def forge_for(ws: Workspace) -> ForgeLink | None:
    loop = ws.config.loop
    if loop is None or not loop.pr:
        return None
    from tutti.loop.github_link import GitHubLink

    return GitHubLink.for_workspace(ws)
