"""Turn the event spine into OpenTelemetry spans — pure, no I/O, no OpenTelemetry import.

The builder reads events in `seq` order and closes a span when the event that ends it arrives.
Ids are *derived*, not random: a run's trace id is a hash of its (root) run id and a step's
span id a hash of (run id, step key, attempt). So a resumed run, a second exporter process, or
steps recorded on another host all land in the same trace with the same parents, and exporting
the same events twice yields the same spans (a backend de-duplicates them).

Span names follow the GenAI semantic conventions: `invoke_workflow {name}` for a run,
`invoke_agent {agent}` for an agent turn (prompt sent → idle) and an API-direct run,
`chat {model}` for a model call, `execute_tool {tool}` for a tool call; other steps are
`step {key}`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2
KIND_INTERNAL, KIND_CLIENT = 1, 3

RUN_END = {"workflow.completed": STATUS_OK, "workflow.failed": STATUS_ERROR, "workflow.cancelled": STATUS_ERROR}
DIRECT_END = {"direct.run.completed": STATUS_OK, "direct.run.failed": STATUS_ERROR}
# Agent states that end a turn: the agent is no longer working on the prompt.
TURN_END_STATES = {"idle", "waiting", "auth_failed", "rate_limited", "provider_down", "stopped", "failed"}


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()


def trace_id_for(run_id: str) -> bytes:
    return _digest("tutti-trace", run_id)[:16]


def span_id_for(*parts: object) -> bytes:
    return _digest("tutti-span", *parts)[:8]


def traceparent(trace_id: bytes, span_id: bytes) -> str:
    """W3C `traceparent` value, for the environment of an agent CLI started inside a run."""
    return f"00-{trace_id.hex()}-{span_id.hex()}-01"


def ts_ns(ts: str) -> int:
    """Store timestamps (RFC3339, `Z`) to Unix nanoseconds."""
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1_000_000) * 1000


@dataclass
class SpanRecord:
    trace_id: bytes
    span_id: bytes
    parent_span_id: bytes | None
    name: str
    start_ns: int
    end_ns: int = 0
    kind: int = KIND_INTERNAL
    attributes: dict[str, Any] = field(default_factory=dict)
    status: int = STATUS_UNSET
    status_message: str = ""

    def to_state(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        for key in ("trace_id", "span_id", "parent_span_id"):
            data[key] = data[key].hex() if data[key] else None
        return data

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> SpanRecord:
        data = dict(data)
        for key in ("trace_id", "span_id", "parent_span_id"):
            data[key] = bytes.fromhex(data[key]) if data[key] else None
        return cls(**data)


@dataclass
class Measurement:
    """One metric data point derived from an event (aggregated by `metrics.MetricBook`)."""

    name: str
    value: float
    attributes: dict[str, Any]
    kind: str  # "histogram" | "sum" | "gauge"
    unit: str = ""


class SpanBuilder:
    """Feeds on events; `take()` hands out finished spans and measurements.

    Open spans survive a restart through `state()` / `from_state()` (the exporter keeps them
    next to its cursor), so a run that started before a restart still gets its run span."""

    def __init__(self, workspace: str | None = None) -> None:
        self.workspace = workspace
        self.open: dict[str, SpanRecord] = {}
        self.traces: dict[str, str] = {}  # run_id -> root run id (nested workflows share a trace)
        self.run_names: dict[str, str] = {}
        self.finished: list[SpanRecord] = []
        self.measurements: list[Measurement] = []

    # -- persistence ------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"open": {k: s.to_state() for k, s in self.open.items()}, "traces": self.traces,
                "run_names": self.run_names}

    @classmethod
    def from_state(cls, data: dict[str, Any], workspace: str | None = None) -> SpanBuilder:
        builder = cls(workspace)
        builder.open = {k: SpanRecord.from_state(v) for k, v in (data.get("open") or {}).items()}
        builder.traces = dict(data.get("traces") or {})
        builder.run_names = dict(data.get("run_names") or {})
        return builder

    def take(self) -> tuple[list[SpanRecord], list[Measurement]]:
        spans, self.finished = self.finished, []
        points, self.measurements = self.measurements, []
        return spans, points

    # -- ids --------------------------------------------------------------------------------
    def _trace(self, run_id: str) -> bytes:
        return trace_id_for(self.traces.get(run_id, run_id))

    def _run_span(self, run_id: str) -> bytes:
        return span_id_for("run", run_id)

    def _parent_for(self, run_id: str | None, step: str | None) -> bytes | None:
        if not run_id:
            return None
        if step and f"step:{run_id}:{step}" in self.open:
            return self.open[f"step:{run_id}:{step}"].span_id
        return self._run_span(run_id)

    # -- events -----------------------------------------------------------------------------
    def feed(self, event: Any) -> None:
        kind: str = event.kind
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, event)
        elif kind in RUN_END:
            self._run_end(event)
        elif kind in DIRECT_END:
            self._direct_end(event)
        elif kind.startswith("workflow.step.") and kind != "workflow.step.started":
            self._step_end(event)
        elif kind.startswith("agent."):
            self._agent_state(event)

    def _start(self, key: str, span: SpanRecord) -> None:
        self.open[key] = span

    def _end(self, key: str, end_ns: int, status: int, message: str = "", **attrs: Any) -> SpanRecord | None:
        span = self.open.pop(key, None)
        if span is None:
            return None
        span.end_ns = max(end_ns, span.start_ns)
        span.status, span.status_message = status, message
        span.attributes.update({k: v for k, v in attrs.items() if v is not None})
        self.finished.append(span)
        return span

    def _run_start(self, e: Any) -> None:
        data = e.data or {}
        parent_run = data.get("parent_run_id")
        if parent_run:
            self.traces[e.run_id] = self.traces.get(parent_run, parent_run)
        name = data.get("workflow_name") or "workflow"
        self.run_names[e.run_id] = name
        parent = None
        if parent_run:
            running = [s for k, s in self.open.items()
                       if k.startswith(f"step:{parent_run}:") and s.attributes.get("tutti.step.type") == "workflow"]
            parent = running[0].span_id if len(running) == 1 else self._run_span(parent_run)
        key = f"run:{e.run_id}"
        if key in self.open:  # a resumed run keeps the span it started with
            self.open[key].attributes["tutti.run.resumed"] = True
            return
        self._start(key, SpanRecord(
            self._trace(e.run_id), self._run_span(e.run_id), parent, f"invoke_workflow {name}", ts_ns(e.ts),
            attributes=_clean({"gen_ai.operation.name": "invoke_workflow", "tutti.run_id": e.run_id,
                               "tutti.workflow": name, "tutti.workspace": self.workspace,
                               "tutti.run.origin": data.get("origin"), "tutti.run.resumed": bool(data.get("resumed"))})))

    def _run_end(self, e: Any) -> None:
        status = RUN_END[e.kind]
        data = e.data or {}
        span = self._end(f"run:{e.run_id}", ts_ns(e.ts), status, str(data.get("error") or "") if status else "",
                         **{"tutti.run.status": e.kind.split(".")[1]})
        if span is not None:
            self.measurements.append(Measurement(
                "tutti.workflow.duration", (span.end_ns - span.start_ns) / 1e9,
                {"tutti.workflow": self.run_names.get(e.run_id), "tutti.run.status": e.kind.split(".")[1]},
                "histogram", "s"))

    def _step_start(self, e: Any) -> None:
        data = e.data or {}
        attempt = data.get("attempt") or 1
        self._start(f"step:{e.run_id}:{e.step}", SpanRecord(
            self._trace(e.run_id), span_id_for("step", e.run_id, e.step, attempt), self._run_span(e.run_id),
            f"step {data.get('step_id') or e.step}", ts_ns(e.ts),
            attributes=_clean({"tutti.run_id": e.run_id, "tutti.step.key": e.step, "tutti.step.id": data.get("step_id"),
                               "tutti.step.type": data.get("step_type"), "tutti.step.attempt": attempt,
                               "tutti.agent": e.agent})))

    def _step_end(self, e: Any) -> None:
        data = e.data or {}
        status_word = data.get("status") or e.kind.rsplit(".", 1)[-1]
        failed = status_word in ("failed", "timed_out", "error", "warning")  # warning: failed, fail_mode open
        span = self._end(f"step:{e.run_id}:{e.step}", ts_ns(e.ts), STATUS_ERROR if failed else STATUS_OK,
                         str(data.get("message") or "") if failed else "", **{"tutti.step.status": status_word})
        if span is not None:
            self.measurements.append(Measurement(
                "tutti.step.duration", (span.end_ns - span.start_ns) / 1e9,
                {"tutti.step.type": span.attributes.get("tutti.step.type"), "tutti.step.status": status_word},
                "histogram", "s"))

    def _prompt_sent(self, e: Any) -> None:
        key = f"turn:{e.agent}"
        self._end(key, ts_ns(e.ts), STATUS_UNSET)  # a new prompt ends an unfinished turn
        trace = self._trace(e.run_id) if e.run_id else trace_id_for(f"turn:{self.workspace}:{e.agent}:{e.seq}")
        self._start(key, SpanRecord(
            trace, span_id_for("turn", e.agent, e.seq), self._parent_for(e.run_id, e.step),
            f"invoke_agent {e.agent}", ts_ns(e.ts),
            attributes=_clean({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": e.agent,
                               "tutti.run_id": e.run_id, "tutti.workspace": self.workspace})))
        ack = (e.data or {}).get("ack_ms")
        if isinstance(ack, int | float):
            self.measurements.append(Measurement("tutti.prompt.ack_latency", ack / 1000, {"tutti.agent": e.agent},
                                                 "histogram", "s"))

    def _agent_state(self, e: Any) -> None:
        state = e.kind.split(".", 1)[1]
        if state in ("working", "idle", "waiting", "auth_failed", "rate_limited", "provider_down", "stopped", "stuck"):
            self.measurements.append(Measurement("tutti.agent.state", 1, {"tutti.agent": e.agent, "tutti.state": state},
                                                 "gauge"))
        if state in TURN_END_STATES:
            failed = state not in ("idle", "waiting")
            span = self._end(f"turn:{e.agent}", ts_ns(e.ts), STATUS_ERROR if failed else STATUS_OK,
                             state if failed else "", **{"tutti.agent.end_state": state})
            if span is not None:
                self.measurements.append(Measurement(
                    "tutti.agent.turn.duration", (span.end_ns - span.start_ns) / 1e9,
                    {"tutti.agent": e.agent, "tutti.agent.end_state": state}, "histogram", "s"))

    def _direct_start(self, e: Any) -> None:
        data = e.data or {}
        parent = self._parent_for(e.run_id, e.step) if e.step else None
        self._start(f"direct:{e.run_id}:{e.step}", SpanRecord(
            self._trace(e.run_id), span_id_for("direct", e.run_id, e.step), parent,
            f"invoke_agent {e.agent or 'direct'}", ts_ns(e.ts),
            attributes=_clean({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": e.agent,
                               "gen_ai.provider.name": data.get("provider"), "gen_ai.request.model": data.get("model"),
                               "tutti.run_id": e.run_id})))

    def _direct_end(self, e: Any) -> None:
        data = e.data or {}
        totals = data.get("totals") or {}
        failed = DIRECT_END[e.kind] == STATUS_ERROR
        self._end(f"direct:{e.run_id}:{e.step}", ts_ns(e.ts), DIRECT_END[e.kind],
                  str(data.get("stop_reason") or "") if failed else "",
                  **{"gen_ai.usage.input_tokens": totals.get("input_tokens"),
                     "gen_ai.usage.output_tokens": totals.get("output_tokens"),
                     "tutti.cost_usd": totals.get("cost_usd")})

    def _direct_parent(self, e: Any) -> bytes | None:
        key = f"direct:{e.run_id}:{e.step}"
        return self.open[key].span_id if key in self.open else self._parent_for(e.run_id, e.step)

    def _model_call(self, e: Any) -> None:
        d = e.data or {}
        end = ts_ns(e.ts)
        start = end - int(float(d.get("latency_ms") or 0) * 1e6)
        model, provider = d.get("model") or "unknown", d.get("provider")
        self.finished.append(SpanRecord(
            self._trace(e.run_id), span_id_for("chat", e.run_id, e.seq), self._direct_parent(e), f"chat {model}",
            start, end, KIND_CLIENT, status=STATUS_OK,
            attributes=_clean({"gen_ai.operation.name": "chat", "gen_ai.provider.name": provider,
                               "gen_ai.request.model": model, "gen_ai.response.model": model,
                               "gen_ai.usage.input_tokens": d.get("input_tokens"),
                               "gen_ai.usage.output_tokens": d.get("output_tokens"),
                               "gen_ai.response.finish_reasons": [d["stop_reason"]] if d.get("stop_reason") else None,
                               "tutti.cost_usd": d.get("cost_usd"), "tutti.turn": d.get("turn"),
                               "gen_ai.agent.name": e.agent})))
        base = _clean({"gen_ai.operation.name": "chat", "gen_ai.provider.name": provider,
                       "gen_ai.request.model": model})
        for token_type, value in (("input", d.get("input_tokens")), ("output", d.get("output_tokens"))):
            if isinstance(value, int):
                self.measurements.append(Measurement("gen_ai.client.token.usage", value,
                                                     {**base, "gen_ai.token.type": token_type}, "histogram", "{token}"))
        self.measurements.append(Measurement("gen_ai.client.operation.duration", (end - start) / 1e9, base,
                                             "histogram", "s"))
        if d.get("cost_usd"):
            self.measurements.append(Measurement("tutti.cost", float(d["cost_usd"]),
                                                 {**base, "tutti.agent": e.agent}, "sum", "USD"))

    def _tool_call(self, e: Any) -> None:
        d = e.data or {}
        end = ts_ns(e.ts)
        start = end - int(float(d.get("duration_ms") or 0) * 1e6)
        tool = d.get("tool") or "tool"
        failed = bool(d.get("is_error") or d.get("denied"))
        self.finished.append(SpanRecord(
            self._trace(e.run_id), span_id_for("tool", e.run_id, e.seq), self._direct_parent(e), f"execute_tool {tool}",
            start, end, status=STATUS_ERROR if failed else STATUS_OK,
            status_message="denied by policy" if d.get("denied") else ("tool error" if failed else ""),
            attributes=_clean({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool,
                               "gen_ai.tool.call.id": d.get("call_id"), "tutti.tool.denied": bool(d.get("denied")),
                               "tutti.turn": d.get("turn")})))


_HANDLERS = {
    "workflow.started": SpanBuilder._run_start,
    "workflow.step.started": SpanBuilder._step_start,
    "agent.prompt_sent": SpanBuilder._prompt_sent,
    "direct.run.started": SpanBuilder._direct_start,
    "direct.model_call": SpanBuilder._model_call,
    "direct.tool_call": SpanBuilder._tool_call,
}


def _clean(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if v is not None}
