"""Claude Code's session transcript (`<config dir>/projects/<cwd slug>/<session id>.jsonl`) as
a failure signal.

When a request finally fails (its retries used up, or an error Claude Code does not retry)
Claude Code appends a synthetic assistant message: `{"type": "assistant", "isApiErrorMessage":
true, "apiErrorStatus": 401, "error": "authentication_failed", "message": {"content": [{"text":
"Not logged in · Please run /login"}]}}`. If it is the latest entry after the latest prompt, the
agent's current turn ended in that failure — whatever the screen's wording. The transcript is
found through the live state file's `sessionId`. While Claude Code is still retrying it writes
nothing here: the screen's retry banner is the only sign then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tutti.runtimes.base import AgentState, Detection
from tutti.runtimes.signals.failure import classify_error_text, state_for_status
from tutti.runtimes.signals.tail import tail_lines

SOURCE = "transcript"


@dataclass
class ApiErrorEntry:
    status: int | None
    error: str | None
    text: str

    def to_detection(self) -> Detection | None:
        words = f"{self.error or ''} {self.text}"
        found = classify_error_text(words)
        state = found[0] if found else None
        if state is None and self.status is not None:
            state = state_for_status(self.status)
        if state is None:
            # An API error that names no known cause (a cut stream, "Failed to parse JSON"): the
            # provider failed the request.
            state = AgentState.PROVIDER_DOWN
        label = f"{SOURCE}:api_error:{self.status if self.status is not None else self.error}"
        return Detection(state=state, confidence=0.97, evidence=[label], detail=self.text[:300] or self.error,
                         source=SOURCE)


def transcript_path(config_dir: Path, session_id: str) -> Path | None:
    hits = list((config_dir / "projects").glob(f"*/{session_id}.jsonl"))
    return max(hits, key=lambda p: p.stat().st_mtime) if hits else None


def latest_api_error(path: Path) -> ApiErrorEntry | None:
    """The API error that ended the latest turn, or None (no error, or a newer prompt since)."""
    found: ApiErrorEntry | None = None
    for line in tail_lines(path):
        if '"type":"user"' not in line and '"type":"assistant"' not in line:
            continue  # attachments, snapshots, system notes
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("type") == "user" and _is_prompt(entry):
            found = None  # a newer prompt: earlier errors are history
        elif entry.get("type") == "assistant" and entry.get("isApiErrorMessage"):
            content = (entry.get("message") or {}).get("content") or []
            text = " ".join(c.get("text", "") for c in content if isinstance(c, dict)).strip()
            status = entry.get("apiErrorStatus")
            found = ApiErrorEntry(int(status) if isinstance(status, int) else None, entry.get("error"), text)
        elif entry.get("type") == "assistant":
            found = None  # a real answer after the error: the turn went on
    return found


def _is_prompt(entry: dict) -> bool:
    """A typed prompt, not a tool result or a meta entry."""
    if entry.get("isMeta"):
        return False
    content = (entry.get("message") or {}).get("content")
    if isinstance(content, str):
        return True
    return any(isinstance(c, dict) and c.get("type") == "text" for c in content or [])


def failure_detection(config_dir: Path, session_id: str | None) -> Detection | None:
    if not session_id:
        return None
    path = transcript_path(config_dir, session_id)
    entry = latest_api_error(path) if path else None
    return entry.to_detection() if entry else None
