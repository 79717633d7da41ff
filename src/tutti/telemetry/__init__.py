"""OpenTelemetry export built from the event spine (see `spans`, `otlp`, `exporter`).

Nothing here imports the OpenTelemetry SDK: spans are derived from store events and sent as
OTLP/HTTP (protobuf via `opentelemetry-proto` when installed, else OTLP/JSON). Off by default.
"""
