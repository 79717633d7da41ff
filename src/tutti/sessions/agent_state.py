"""`.tutti/state/{agent}.json` — the per-agent state file users' scripts read (inventory §3).

Shape kept from the original (`name, runtime, session_name, worktree_path, branch, status,
started_at, stopped_at`) plus `state` (the lowercase AgentState value), `evidence`,
`detail` and `updated_at`. Written atomically; the store's events are the history.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any

from tutti.fsutil import write_json_atomic
from tutti.store.db import now_iso

# Keyed by `tutti.runtimes.base.AgentState` values (a StrEnum: its members hash and compare as
# these strings). Sessions sit below runtimes, so this file knows the states by value only.
_STATUS = {
    "working": "Working", "idle": "Idle", "waiting": "Waiting", "rate_limited": "Rate Limited",
    "provider_down": "Provider Down", "stopped": "Stopped", "unknown": "Unknown",
}


def status_string(state: str, detail: str | None = None) -> str:
    if state == "auth_failed":
        return f"Auth Failed: {detail}" if detail else "Auth Failed"
    return _STATUS[state]


def state_path(state_dir: Path, agent: str) -> Path:
    return state_dir / f"{agent}.json"


def read_state(state_dir: Path, agent: str) -> dict[str, Any] | None:
    try:
        return json.loads(state_path(state_dir, agent).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def update_state(state_dir: Path, agent: str, **fields: Any) -> dict[str, Any]:
    """Merge `fields` into the agent's state file (creating it) and return the new content."""
    current = read_state(state_dir, agent) or {
        "name": agent, "runtime": None, "session_name": None, "worktree_path": None, "branch": None,
        "status": "Unknown", "started_at": None, "stopped_at": None,
    }
    state = fields.get("state")
    if isinstance(state, Enum):  # an AgentState
        fields["state"] = state.value
        fields.setdefault("status", status_string(state, fields.get("detail")))
    current.update(fields)
    current["updated_at"] = now_iso()
    write_json_atomic(state_path(state_dir, agent), current)
    return current
