"""Codex's rollout log (`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl`) as a state signal.

`event_msg` payloads of type `task_started` / `task_complete` are the exact edges of a turn
(same `turn_id`). A `task_complete` carrying `error.message` (e.g. "unexpected status 401
Unauthorized …") is a failed turn; `error` / `stream_error` events during a turn are the
runtime reporting a failure or a retry. The rollout of an agent is the newest one whose
`session_meta` cwd is the agent's working directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tutti.runtimes.base import AgentState, Detection
from tutti.runtimes.signals.failure import classify_error_text
from tutti.runtimes.signals.tail import tail_lines

SOURCE = "rollout"


@dataclass
class RolloutState:
    path: Path
    last_started_turn: str | None = None
    last_completed_turn: str | None = None
    turns_started: int = 0  # within the tail read
    error: str | None = None  # the failure of the latest turn, if any
    last_agent_message: str | None = None
    last_event_ts: str | None = None

    @property
    def turn_open(self) -> bool:
        return self.last_started_turn is not None and self.last_started_turn != self.last_completed_turn

    def to_detection(self) -> Detection | None:
        if self.error:
            failed = classify_error_text(self.error)
            # An error the turn ended with that names no known cause: the provider failed it.
            state = failed[0] if failed is not None else AgentState.PROVIDER_DOWN
            return Detection(state=state, confidence=0.97, evidence=[f"{SOURCE}:error"], detail=self.error,
                             source=SOURCE)
        if self.turn_open:
            return Detection(AgentState.WORKING, 0.95, [f"{SOURCE}:task_started"], source=SOURCE)
        if self.last_completed_turn is not None:
            return Detection(AgentState.IDLE, 0.95, [f"{SOURCE}:task_complete"], source=SOURCE)
        return None


def read_rollout(path: Path) -> RolloutState:
    state = RolloutState(path=path)
    for line in tail_lines(path):
        if '"event_msg"' not in line:
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        payload = entry.get("payload") or {}
        kind = payload.get("type")
        if kind == "task_started":
            state.last_started_turn = payload.get("turn_id") or f"#{state.turns_started}"
            state.turns_started += 1
            state.error = None
        elif kind == "task_complete":
            state.last_completed_turn = payload.get("turn_id") or state.last_started_turn
            state.last_agent_message = payload.get("last_agent_message")
            err = payload.get("error")
            state.error = (err.get("message") if isinstance(err, dict) else err) or None
        elif kind in ("error", "stream_error"):
            state.error = payload.get("message") or json.dumps(payload)[:300]
        else:
            continue
        state.last_event_ts = entry.get("timestamp")
    return state


def find_rollout(codex_home: Path, workdir: Path) -> Path | None:
    """Newest rollout whose session ran in `workdir`."""
    sessions = codex_home / "sessions"
    if not sessions.is_dir():
        return None
    want = str(workdir.resolve())
    candidates = sorted(sessions.rglob("rollout-*.jsonl"), key=_mtime, reverse=True)
    for path in candidates[:50]:
        if _session_cwd(path) == want:
            return path
    return None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _session_cwd(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            first = fh.readline(1 << 20)
        meta = json.loads(first)
    except (OSError, json.JSONDecodeError):
        return None
    if meta.get("type") != "session_meta":
        return None
    cwd = (meta.get("payload") or {}).get("cwd")
    try:
        return str(Path(cwd).resolve()) if cwd else None
    except OSError:
        return cwd
