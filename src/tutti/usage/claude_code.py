"""Claude Code session logs: `<config dir>/projects/<encoded cwd>/<session>.jsonl`.

One API response can appear on several lines (one per streamed content block) carrying the
same `message.id`, `requestId` and usage, so records are keyed by message id + request id and
stored once. A line with neither id (older Claude Code versions) is still counted, keyed by its
file and line number, as the original counted every line. Synthetic error entries (`model:
"<synthetic>"`, all-zero usage) are skipped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tutti.usage.records import UsageRecord, as_int

RUNTIME = "claude-code"

_NON_ALNUM = re.compile(r"[^A-Za-z0-9]")


def encode_project_dir(path: Path | str) -> str:
    """Claude Code's directory name for a project: every non-alphanumeric character → `-`.

    `/work/repo/.tutti/worktrees/a_b` → `-work-repo--tutti-worktrees-a-b`.
    """
    return _NON_ALNUM.sub("-", str(path))


def project_log_dir(config_dir: Path, cwd: Path | str) -> Path:
    return config_dir / "projects" / encode_project_dir(cwd)


def parse_lines(lines: list[str], state: dict[str, Any]) -> list[UsageRecord]:
    """Records from complete JSONL lines; `state` carries the file's path and line count across reads."""
    out: list[UsageRecord] = []
    for line in lines:
        state["line"] = int(state.get("line", 0)) + 1
        if '"usage"' not in line:
            continue  # cheap pre-filter: most lines are attachments, snapshots, tool results
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(entry, dict) or entry.get("type") != "assistant":
            continue
        message = entry.get("message") or {}
        usage = message.get("usage")
        if not isinstance(usage, dict):
            continue
        model = message.get("model")
        if model == "<synthetic>":
            continue
        message_id = message.get("id") or entry.get("uuid") or ""
        request_id = entry.get("requestId") or ""
        key = f"claude:{message_id}:{request_id}" if message_id or request_id \
            else f"claude:{state.get('path', '?')}:{state['line']}"
        rec = UsageRecord(
            key=key,
            runtime=RUNTIME,
            ts=str(entry.get("timestamp") or ""),
            model=model,
            session_id=entry.get("sessionId"),
            cwd=entry.get("cwd"),
            input_tokens=as_int(usage.get("input_tokens")),
            cache_creation_tokens=as_int(usage.get("cache_creation_input_tokens")),
            cache_read_tokens=as_int(usage.get("cache_read_input_tokens")),
            output_tokens=as_int(usage.get("output_tokens")),
        )
        if not rec.is_empty():
            out.append(rec)
    return out
