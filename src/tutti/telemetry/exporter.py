"""The OTLP exporter: a reader of the event spine, so telemetry can never break a run.

It follows the store by cursor like every other reader. The store *is* its queue: the cursor
(and the spans still open at it) are saved only after a batch was accepted, so a collector that
is down loses nothing — the exporter backs off and re-reads the same events later; the derived
ids make a re-sent span identical. One exporter per workspace at a time (a lock file), whichever
process runs it (`tt serve`, the background supervisor, or `tt telemetry export`).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tutti.errors import ConfigError, TuttiError
from tutti.telemetry import otlp
from tutti.telemetry.spans import SpanBuilder

STATE_FILE = "otel-export.json"
LOCK_FILE = "otel-export.lock"
DEFAULT_ENDPOINT = "http://localhost:4318"


@dataclass
class TelemetrySettings:
    enabled: bool
    traces_endpoint: str
    metrics_endpoint: str
    protocol: str = otlp.PROTOBUF
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    interval: float = 1.0
    max_batch: int = 512

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["headers"] = {k: "***" for k in self.headers}  # header values are usually keys
        return data


def _parse_headers(text: str) -> dict[str, str]:
    out = {}
    for pair in text.split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            from urllib.parse import unquote

            out[key.strip()] = unquote(value.strip())
    return out


def resolve_settings(observe: Any, env: dict[str, str] | None = None) -> TelemetrySettings:
    """`[observe]` keys first, then the standard OTEL_EXPORTER_OTLP_* variables, then OTLP's defaults.
    Exporting is on only when `[observe] otel = true` (or an `otlp_endpoint` is set) and
    OTEL_SDK_DISABLED is not true — an OTLP variable left in a shell for another tool does not
    switch it on."""
    env = dict(os.environ if env is None else env)
    enabled = bool(getattr(observe, "otel", None) or getattr(observe, "otlp_endpoint", None))
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        enabled = False
    base = (getattr(observe, "otlp_endpoint", None) or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or DEFAULT_ENDPOINT)
    base = base.rstrip("/")
    traces = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") if not getattr(observe, "otlp_endpoint", None) else None
    metrics = env.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") if not getattr(observe, "otlp_endpoint", None) else None
    protocol = (getattr(observe, "otlp_protocol", None) or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or otlp.PROTOBUF)
    if protocol not in (otlp.PROTOBUF, otlp.JSON):
        raise ConfigError(f"unsupported OTLP protocol {protocol!r}",
                          hint='set [observe] otlp_protocol (or OTEL_EXPORTER_OTLP_PROTOCOL) to "http/protobuf" '
                               'or "http/json"; gRPC is not supported')
    headers = _parse_headers(env.get("OTEL_EXPORTER_OTLP_HEADERS", ""))
    headers.update(getattr(observe, "otlp_headers", None) or {})
    timeout_ms = env.get("OTEL_EXPORTER_OTLP_TIMEOUT", "")
    interval_ms = getattr(observe, "otel_export_interval_ms", None) or 1000
    return TelemetrySettings(
        enabled=enabled, traces_endpoint=traces or f"{base}/v1/traces", metrics_endpoint=metrics or f"{base}/v1/metrics",
        protocol=protocol, headers=headers, timeout=int(timeout_ms) / 1000 if timeout_ms.isdigit() else 10.0,
        interval=max(0.05, interval_ms / 1000),
    )


def load_state(state_dir: Path) -> dict[str, Any]:
    """The saved cursor and open spans (empty when nothing was exported yet)."""
    try:
        return json.loads((state_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}


@dataclass
class ExportReport:
    events: int = 0
    spans: int = 0
    metric_points: int = 0
    cursor: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ExportBusy(TuttiError):
    category = "busy"


class Exporter:
    """Exports one workspace's events. `export_once()` for scripts and tests, `run()` for a daemon."""

    def __init__(self, ws: Any, settings: TelemetrySettings) -> None:
        self.ws = ws
        self.settings = settings
        self.state_path = Path(ws.state_dir) / STATE_FILE
        self._lock_fd: int | None = None
        saved = self._load_state()
        self.cursor: int = saved.get("cursor", 0)
        self.builder = SpanBuilder.from_state(saved.get("builder") or {}, ws.name)
        self.book = otlp.MetricBook(time.time_ns())
        self.resource = otlp.resource_attributes(ws.name)
        if settings.protocol == otlp.PROTOBUF and not otlp.protobuf_available():
            raise ConfigError("OTLP over protobuf needs the opentelemetry-proto package",
                              hint="pip install 'tutti[otel]', or set [observe] otlp_protocol = \"http/json\"")
        self._client = None

    # -- lifecycle ------------------------------------------------------------------------
    def acquire(self) -> None:
        """Take the workspace's exporter lock, or raise ExportBusy if another process has it."""
        path = Path(self.ws.state_dir) / LOCK_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ExportBusy("another process is exporting this workspace's telemetry",
                             hint="tt serve or the background supervisor already exports it") from None
        self._lock_fd = fd

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _load_state(self) -> dict[str, Any]:
        return load_state(Path(self.ws.state_dir))

    def _save_state(self) -> None:
        from tutti.fsutil import write_text_atomic

        write_text_atomic(self.state_path, json.dumps({"cursor": self.cursor, "builder": self.builder.state()}),
                          durable=False)

    # -- export ---------------------------------------------------------------------------
    def _post(self, url: str, request: dict[str, Any], signal: str) -> None:
        import httpx

        if self._client is None:
            self._client = httpx.Client(timeout=self.settings.timeout)
        body, content_type = otlp.encode(request, signal, self.settings.protocol)
        response = self._client.post(url, content=body, headers={**self.settings.headers, "Content-Type": content_type})
        if response.status_code >= 300:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:200]}")

    def export_once(self) -> ExportReport:
        """Read the next batch of events, send its spans and the metrics. On failure nothing
        advances: the same events are read again next time."""
        events = self.ws.store.read_events(self.cursor, limit=self.settings.max_batch)
        report = ExportReport(cursor=self.cursor)
        if not events:
            return report
        snapshot = self.builder.state()
        for event in events:
            self.builder.feed(event)
        spans, points = self.builder.take()
        try:
            if spans:
                self._post(self.settings.traces_endpoint, otlp.traces_request(spans, self.resource), "traces")
        except Exception as exc:  # noqa: BLE001 - any failure leaves the cursor where it was
            self.builder = SpanBuilder.from_state(snapshot, self.ws.name)
            report.error = f"{type(exc).__name__}: {exc}"
            return report
        now = time.time_ns()
        for point in points:
            self.book.add(point, now)
        self.cursor = events[-1].seq
        self._save_state()
        report.events, report.spans, report.metric_points, report.cursor = len(events), len(spans), len(points), self.cursor
        return report

    def export_metrics(self) -> None:
        request = self.book.request(self.resource, time.time_ns())
        if request is not None:
            self._post(self.settings.metrics_endpoint, request, "metrics")

    def drain(self) -> ExportReport:
        """Export everything recorded so far (and the metrics once). For `--once` and tests."""
        total = ExportReport(cursor=self.cursor)
        while True:
            report = self.export_once()
            total.events += report.events
            total.spans += report.spans
            total.metric_points += report.metric_points
            total.cursor = report.cursor
            if report.error:
                total.error = report.error
                return total
            if report.events < self.settings.max_batch:
                break
        try:
            self.export_metrics()
        except Exception as exc:  # noqa: BLE001
            total.error = f"metrics: {type(exc).__name__}: {exc}"
        return total

    def run(self, stop: threading.Event, on_error=None) -> None:
        """Follow the store until `stop` is set: export as events arrive, metrics every few
        seconds, back off (1 s doubling to 60 s) while the collector fails."""
        backoff, last_metrics = 0.0, 0.0
        while not stop.is_set():
            report = self.export_once()
            if report.error:
                backoff = min(60.0, backoff * 2 or 1.0)
                if on_error:
                    on_error(report.error)
                stop.wait(backoff)
                continue
            backoff = 0.0
            if time.monotonic() - last_metrics >= max(5.0, self.settings.interval):
                try:
                    self.export_metrics()
                    last_metrics = time.monotonic()
                except Exception as exc:  # noqa: BLE001
                    if on_error:
                        on_error(f"metrics: {exc}")
            if report.events < self.settings.max_batch:
                stop.wait(self.settings.interval)


def start_background(ws: Any, stop: threading.Event) -> threading.Thread | None:
    """For the supervisor: start the exporter thread when `[observe]` turns telemetry on and no
    other process exports this workspace. Never raises — telemetry must not stop the supervisor."""
    import sys

    try:
        settings = resolve_settings(ws.config.observe)
        if not settings.enabled:
            return None
        exporter = Exporter(ws, settings)
        exporter.acquire()
    except TuttiError as exc:
        print(f"telemetry: not exporting: {exc.message}", file=sys.stderr)
        return None
    except Exception as exc:  # noqa: BLE001
        print(f"telemetry: not exporting: {exc}", file=sys.stderr)
        return None

    def loop() -> None:
        try:
            exporter.run(stop, on_error=lambda msg: print(f"telemetry: export failed: {msg}", file=sys.stderr))
        finally:
            exporter.close()

    thread = threading.Thread(target=loop, name=f"otel-{ws.name}", daemon=True)
    thread.start()
    return thread
