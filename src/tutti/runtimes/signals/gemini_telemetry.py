"""Gemini CLI's local telemetry file as a failure signal.

On a 429 Gemini CLI's screen shows only `Thinking...` for minutes while it retries; its chat
log records nothing. With local telemetry switched on (`GEMINI_TELEMETRY_TARGET=local` +
`GEMINI_TELEMETRY_OUTFILE`, set by `runtimes.prepare`; nothing leaves the machine) it appends one OpenTelemetry record
per API call: `gemini_cli.api_error` with `status_code`, `gemini_cli.api_response` on success.
The file is a stream of pretty-printed JSON objects, so the tail is split at top-level `{`.

Only calls made for the user's prompt count (`prompt_id` of the session); the background
session-summary call failing alone does not make the agent fail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tutti.runtimes.base import AgentState, Detection
from tutti.runtimes.signals.failure import classify_error_text, state_for_status

SOURCE = "telemetry"
TAIL_BYTES = 512 * 1024
_UTILITY_PROMPTS = ("session-summary-generation",)


@dataclass
class ApiEvent:
    name: str
    ts: str
    status: int | None
    prompt_id: str | None
    message: str | None


def read_api_events(path: Path, tail_bytes: int = TAIL_BYTES) -> list[ApiEvent]:
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - tail_bytes))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    events: list[ApiEvent] = []
    # Top-level records start with "{" at column 0; nested objects are indented. The piece
    # before the first boundary is either empty or a record cut by the tail: dropped.
    for chunk in ("\n" + text).split("\n{\n")[1:]:
        if '"gemini_cli.api_' not in chunk:
            continue
        try:
            obj = json.loads("{\n" + chunk.rstrip().rstrip(","))
        except json.JSONDecodeError:
            continue  # the record still being written
        attrs = obj.get("attributes") or {}
        name = attrs.get("event.name", "")
        if name not in ("gemini_cli.api_error", "gemini_cli.api_response"):
            continue
        status = attrs.get("status_code", attrs.get("http.status_code"))
        events.append(ApiEvent(
            name=name, ts=str(attrs.get("event.timestamp") or ""),
            status=int(status) if isinstance(status, (int, str)) and str(status).isdigit() else None,
            prompt_id=attrs.get("prompt_id"), message=attrs.get("error.message") or attrs.get("error"),
        ))
    return events


def failure_detection(path: Path) -> Detection | None:
    """A failure if the latest API call for the user's prompt failed, else None."""
    latest: ApiEvent | None = None
    for ev in read_api_events(path):
        if ev.prompt_id in _UTILITY_PROMPTS:
            continue
        latest = ev
    if latest is None or latest.name != "gemini_cli.api_error":
        return None
    # The provider's words first (a 400 that is a context overflow, a 429 that is a quota), then
    # the status; an error with neither (a cut or unparseable stream) is the provider failing.
    found = classify_error_text(latest.message or "")
    state = found[0] if found else (state_for_status(latest.status) if latest.status else None)
    if state is None:
        if latest.status is not None and 400 <= latest.status < 500:
            return None  # a client error we cannot name: leave it to the screen
        state = AgentState.PROVIDER_DOWN
    return Detection(state=state, confidence=0.95, evidence=[f"{SOURCE}:api_error:{latest.status or 'stream'}"],
                     detail=(latest.message or f"HTTP {latest.status}")[:300], source=SOURCE)
