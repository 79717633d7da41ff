"""A small OTLP/HTTP receiver on 127.0.0.1, for tests and for rehearsing telemetry locally.

Accepts `POST /v1/traces` and `/v1/metrics` in protobuf (decoded with `opentelemetry-proto`)
or OTLP/JSON, and keeps what arrived as plain dicts (hex ids). Failures switch at runtime
(`receiver.fail_with = 503`) so the exporter's retry path is exercised against a real socket.

    python -m tutti.testing.otlp_receiver --port 4318     # prints each span as one JSON line
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tutti.testing.http_double import ThreadedHTTPDouble


def _decode(body: bytes, content_type: str, signal: str) -> dict[str, Any]:
    if "json" in content_type:
        return json.loads(body)  # OTLP/JSON: ids already hex
    from google.protobuf import json_format

    if signal == "traces":
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest as Message,
        )
    else:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceRequest as Message,
        )
    message = Message()
    message.ParseFromString(body)
    data = json_format.MessageToDict(message)
    return _hex_ids(data)


def _hex_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") and v else _hex_ids(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_hex_ids(v) for v in value]
    return value


def _attr_value(value: dict[str, Any]) -> Any:
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [_attr_value(v) for v in value["arrayValue"].get("values", [])]
    return None


def flat_attributes(attrs: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {a["key"]: _attr_value(a.get("value", {})) for a in attrs or []}


class OtlpReceiver(ThreadedHTTPDouble):
    thread_name = "otlp-receiver"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, echo: bool = False) -> None:
        self.spans: list[dict[str, Any]] = []
        self.metrics: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []  # (path, content type)
        self.fail_with: int | None = None
        self.echo = echo
        self._lock = threading.Lock()
        self._serve(ThreadingHTTPServer((host, port), self._handler()))

    @property
    def endpoint(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                content_type = self.headers.get("Content-Type", "")
                receiver.requests.append((self.path, content_type))
                if receiver.fail_with:
                    self.send_response(receiver.fail_with)
                    self.end_headers()
                    return
                signal = {"/v1/traces": "traces", "/v1/metrics": "metrics"}.get(self.path)
                if signal is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                try:
                    receiver._accept(signal, _decode(body, content_type, signal))
                except Exception as exc:  # noqa: BLE001 - a bad payload is the sender's bug: say so
                    self.send_response(400)
                    self.end_headers()
                    self.wfile.write(str(exc).encode())
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

        return Handler

    def _accept(self, signal: str, data: dict[str, Any]) -> None:
        with self._lock:
            if signal == "traces":
                for rs in data.get("resourceSpans", []):
                    resource = flat_attributes(rs.get("resource", {}).get("attributes"))
                    for ss in rs.get("scopeSpans", []):
                        for span in ss.get("spans", []):
                            flat = {**span, "attributes": flat_attributes(span.get("attributes")), "resource": resource}
                            self.spans.append(flat)
                            if self.echo:
                                print(json.dumps(flat), flush=True)
            else:
                for rm in data.get("resourceMetrics", []):
                    for sm in rm.get("scopeMetrics", []):
                        self.metrics.extend(sm.get("metrics", []))

    def metric(self, name: str) -> dict[str, Any] | None:
        """The latest export of metric `name` (metrics are cumulative: the last one is the total)."""
        with self._lock:
            found = [m for m in self.metrics if m.get("name") == name]
        return found[-1] if found else None



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4318)
    args = parser.parse_args(argv)
    receiver = OtlpReceiver(port=args.port, echo=True)
    print(f"otlp receiver on {receiver.endpoint}", file=sys.stderr, flush=True)
    try:
        receiver._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
