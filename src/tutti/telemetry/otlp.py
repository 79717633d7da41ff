"""OTLP/HTTP payloads for spans and metrics, in both encodings the protocol defines.

One builder makes the OTLP request as plain dicts (ids as bytes); `encode()` turns it into
`application/x-protobuf` (through `opentelemetry-proto`, imported only here and only when
protobuf is asked for) or `application/json` (OTLP's JSON mapping: hex ids, no dependency).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from typing import Any

from tutti.telemetry.spans import Measurement, SpanRecord

SCOPE = {"name": "tutti", "version": ""}
# Explicit histogram bounds: seconds for durations (sub-second steps up to hour-long turns),
# tokens for token usage (the GenAI conventions' advice).
DURATION_BOUNDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]
TOKEN_BOUNDS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [_any_value(v) for v in value]}}
    return {"stringValue": str(value)}


def attributes(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _any_value(v)} for k, v in sorted(attrs.items()) if v is not None]


def resource_attributes(workspace: str | None) -> dict[str, Any]:
    """service.name + the workspace, then OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES on top."""
    from tutti import __version__

    attrs: dict[str, Any] = {"service.name": "tutti", "service.version": __version__, "tutti.workspace": workspace}
    for pair in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            attrs[key.strip()] = value.strip()
    if os.environ.get("OTEL_SERVICE_NAME"):
        attrs["service.name"] = os.environ["OTEL_SERVICE_NAME"]
    return {k: v for k, v in attrs.items() if v is not None}


def traces_request(spans: list[SpanRecord], resource: dict[str, Any]) -> dict[str, Any]:
    from tutti import __version__

    return {"resourceSpans": [{
        "resource": {"attributes": attributes(resource)},
        "scopeSpans": [{"scope": {**SCOPE, "version": __version__}, "spans": [_span(s) for s in spans]}],
    }]}


def _span(s: SpanRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": s.trace_id, "spanId": s.span_id, "name": s.name, "kind": s.kind,
        "startTimeUnixNano": str(s.start_ns), "endTimeUnixNano": str(s.end_ns or s.start_ns),
        "attributes": attributes(s.attributes), "status": {"code": s.status},
    }
    if s.status_message:
        out["status"]["message"] = s.status_message[:500]
    if s.parent_span_id:
        out["parentSpanId"] = s.parent_span_id
    return out


@dataclass
class _Series:
    kind: str
    unit: str
    attrs: dict[str, Any]
    count: int = 0
    total: float = 0.0
    last: float = 0.0
    minimum: float = float("inf")
    maximum: float = float("-inf")
    buckets: list[int] = field(default_factory=list)
    last_ns: int = 0


class MetricBook:
    """Cumulative aggregation of measurements since `start_ns` (OTLP cumulative temporality:
    a restart begins new series, which backends handle as a counter reset)."""

    def __init__(self, start_ns: int) -> None:
        self.start_ns = start_ns
        self.series: dict[tuple[str, tuple], _Series] = {}

    def add(self, m: Measurement, now_ns: int) -> None:
        key = (m.name, tuple(sorted((k, str(v)) for k, v in m.attributes.items() if v is not None)))
        s = self.series.get(key)
        if s is None:
            bounds = TOKEN_BOUNDS if m.unit == "{token}" else DURATION_BOUNDS
            s = self.series[key] = _Series(m.kind, m.unit, {k: v for k, v in m.attributes.items() if v is not None},
                                           buckets=[0] * (len(bounds) + 1))
        s.count += 1
        s.total += m.value
        s.last = m.value
        s.minimum, s.maximum = min(s.minimum, m.value), max(s.maximum, m.value)
        s.last_ns = now_ns
        if m.kind == "histogram":
            bounds = TOKEN_BOUNDS if m.unit == "{token}" else DURATION_BOUNDS
            s.buckets[sum(1 for b in bounds if m.value > b)] += 1

    def request(self, resource: dict[str, Any], now_ns: int) -> dict[str, Any] | None:
        if not self.series:
            return None
        by_name: dict[str, list[_Series]] = {}
        for (name, _), s in self.series.items():
            by_name.setdefault(name, []).append(s)
        metrics = [self._metric(name, group, now_ns) for name, group in sorted(by_name.items())]
        return {"resourceMetrics": [{"resource": {"attributes": attributes(resource)},
                                     "scopeMetrics": [{"scope": dict(SCOPE), "metrics": metrics}]}]}

    def _metric(self, name: str, group: list[_Series], now_ns: int) -> dict[str, Any]:
        first = group[0]
        common = {"attributes": None, "startTimeUnixNano": str(self.start_ns), "timeUnixNano": str(now_ns)}
        if first.kind == "histogram":
            bounds = TOKEN_BOUNDS if first.unit == "{token}" else DURATION_BOUNDS
            points = [{**common, "attributes": attributes(s.attrs), "count": str(s.count), "sum": s.total,
                       "min": s.minimum, "max": s.maximum, "explicitBounds": bounds,
                       "bucketCounts": [str(c) for c in s.buckets]} for s in group]
            body = {"histogram": {"dataPoints": points, "aggregationTemporality": 2}}
        elif first.kind == "sum":
            points = [{**common, "attributes": attributes(s.attrs), "asDouble": s.total} for s in group]
            body = {"sum": {"dataPoints": points, "aggregationTemporality": 2, "isMonotonic": True}}
        else:  # gauge: agents by state — 1 for the state each agent is in now, 0 for the others
            latest: dict[str, _Series] = {}
            for s in group:
                agent = str(s.attrs.get("tutti.agent"))
                if agent not in latest or s.last_ns >= latest[agent].last_ns:
                    latest[agent] = s
            points = [{**common, "attributes": attributes(s.attrs),
                       "asInt": "1" if latest.get(str(s.attrs.get("tutti.agent"))) is s else "0"} for s in group]
            for p in points:
                p.pop("startTimeUnixNano")
            body = {"gauge": {"dataPoints": points}}
        return {"name": name, "unit": first.unit, **body}


# -- encodings --------------------------------------------------------------------------------
PROTOBUF, JSON = "http/protobuf", "http/json"


def protobuf_available() -> bool:
    try:
        import opentelemetry.proto.collector.trace.v1.trace_service_pb2  # noqa: F401
    except ImportError:
        return False
    return True


def encode(request: dict[str, Any], signal: str, protocol: str) -> tuple[bytes, str]:
    """The request body and its content type. `signal` is "traces" or "metrics"."""
    if protocol == JSON:
        return json.dumps(_ids(request, lambda b: b.hex())).encode(), "application/json"
    from google.protobuf import json_format

    if signal == "traces":
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest as Message,
        )
    else:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceRequest as Message,
        )
    # protobuf's JSON mapping carries bytes as base64 (OTLP/JSON uses hex; hence two mappings).
    message = json_format.ParseDict(_ids(request, lambda b: base64.b64encode(b).decode()), Message())
    return message.SerializeToString(), "application/x-protobuf"


def _ids(value: Any, convert) -> Any:
    if isinstance(value, bytes):
        return convert(value)
    if isinstance(value, dict):
        return {k: _ids(v, convert) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_ids(v, convert) for v in value]
    return value
