"""`tt intake list|claims`: what the loop would pick up, and who holds what."""

from __future__ import annotations

from typing import Any

from tutti.intake import leases
from tutti.intake.base import build_sources
from tutti.workspace import Workspace


def open_items(ws: Workspace, names: list[str] | None = None, *, limit: int = 100) -> list[dict[str, Any]]:
    """Open items of every configured intake (or the named ones), each with its current claim."""
    rows = []
    for source in build_sources(ws, names or None):
        for item in source.list_open(limit=limit):
            lease = leases.get(ws.store, item.key)
            held = lease is not None and lease.active
            rows.append({**item.to_dict(), "claimed_by": lease.holder if held else None,
                         "fencing_token": lease.fencing_token if held else None,
                         "expires_at": lease.expires_at if held else None})
    return rows


def claims(ws: Workspace, *, include_released: bool = False) -> list[dict[str, Any]]:
    return [lease.to_dict() for lease in leases.list_leases(ws.store, active_only=not include_released)]
