"""Gemini CLI chat logs: `$GEMINI_CLI_HOME/.gemini/tmp/<project>/chats/session-*.jsonl`.

The first line holds `sessionId` and `projectHash` (sha256 of the project root path — how a
log is tied to a worktree). A `gemini` message line can be written more than once as the turn
progresses (same `id`, tool calls added), so records are keyed by message id and the last
write wins. Gemini's `input` includes `cached`; `thoughts` are output the model produced.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from tutti.usage.records import UsageRecord, as_int, json_objects

RUNTIME = "gemini-cli"


def project_hash(path: Path | str) -> str:
    return hashlib.sha256(str(path).encode()).hexdigest()


def parse_lines(lines: list[str], state: dict[str, Any]) -> list[UsageRecord]:
    out: list[UsageRecord] = []
    for entry in json_objects(lines):
        if "projectHash" in entry and "sessionId" in entry:
            state["session_id"] = entry["sessionId"]
            state["project_hash"] = entry["projectHash"]
            continue
        if entry.get("type") != "gemini" or not isinstance(entry.get("tokens"), dict):
            continue
        tokens = entry["tokens"]
        prompt = as_int(tokens.get("input")) + as_int(tokens.get("tool"))
        cached = min(as_int(tokens.get("cached")), prompt)
        rec = UsageRecord(
            key=f"gemini:{state.get('session_id') or '?'}:{entry.get('id')}",
            runtime=RUNTIME,
            ts=str(entry.get("timestamp") or ""),
            model=entry.get("model"),
            session_id=state.get("session_id"),
            input_tokens=prompt - cached,
            cache_read_tokens=cached,
            output_tokens=as_int(tokens.get("output")) + as_int(tokens.get("thoughts")),
            reasoning_tokens=as_int(tokens.get("thoughts")),
        )
        if not rec.is_empty():
            out.append(rec)
    return out
