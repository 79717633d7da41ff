"""`tt telemetry`: what the exporter would do, and a one-shot export for scripts and CI."""

from __future__ import annotations

from typing import Any

from tutti.errors import UsageError
from tutti.workspace import Workspace


def telemetry_status(ws: Workspace) -> dict[str, Any]:
    from tutti.telemetry.exporter import load_state, resolve_settings

    settings = resolve_settings(ws.config.observe)
    saved = load_state(ws.state_dir)
    latest = ws.store.latest_seq()
    cursor = int(saved.get("cursor", 0))
    return {"workspace": ws.name, **settings.to_dict(), "cursor": cursor, "latest_seq": latest,
            "behind": max(0, latest - cursor), "open_spans": len((saved.get("builder") or {}).get("open") or {})}


def export_telemetry(ws: Workspace, *, endpoint: str | None = None, force: bool = False) -> dict[str, Any]:
    """Export every event not yet exported (spans + one metrics export) and return the figures.
    Refuses when telemetry is off unless `force` (or an explicit endpoint) is given."""
    from tutti.telemetry.exporter import Exporter, resolve_settings

    observe = ws.config.observe
    if endpoint:
        observe = observe.model_copy(update={"otlp_endpoint": endpoint.rstrip("/")})
    settings = resolve_settings(observe)
    if not settings.enabled and not force:
        raise UsageError("telemetry export is off for this workspace",
                         hint="set [observe] otel = true (and otlp_endpoint) in tutti.toml, or pass --endpoint URL")
    exporter = Exporter(ws, settings)
    exporter.acquire()
    try:
        report = exporter.drain()
    finally:
        exporter.close()
    return {"workspace": ws.name, "traces_endpoint": settings.traces_endpoint, **report.to_dict()}
