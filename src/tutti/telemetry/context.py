"""Trace context for agent CLIs: `TRACEPARENT` and `OTEL_RESOURCE_ATTRIBUTES` in the session
environment, so a CLI that exports its own telemetry (Claude Code, Codex and Gemini CLI can)
lands in the same trace as the run that started it.

An agent a workflow run starts gets the run's trace and span; one started by `tt up` gets a
trace of its own session. Nothing is added while `[observe]` telemetry is off.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from tutti.telemetry.spans import span_id_for, trace_id_for, traceparent

_launching_run: ContextVar[str | None] = ContextVar("tutti_launching_run", default=None)


@contextmanager
def launched_by_run(run_id: str) -> Iterator[None]:
    """Agents launched inside this block belong to `run_id`'s trace."""
    token = _launching_run.set(run_id)
    try:
        yield
    finally:
        _launching_run.reset(token)


def enabled(ws: Any) -> bool:
    observe = ws.config.observe
    return bool(observe.otel or observe.otlp_endpoint)


def agent_env(ws: Any, agent: str, *, session_id: str = "") -> dict[str, str]:
    if not enabled(ws):
        return {}
    run_id = _launching_run.get()
    if run_id:
        parent = traceparent(trace_id_for(run_id), span_id_for("run", run_id))
    else:
        key = f"session:{ws.name}:{agent}:{session_id}"
        parent = traceparent(trace_id_for(key), span_id_for(key))
    attrs = f"service.namespace=tutti,tutti.workspace={ws.name},tutti.agent={agent}"
    return {"TRACEPARENT": parent, "OTEL_RESOURCE_ATTRIBUTES": attrs}
