"""Claude Code's live state file: `<config dir>/sessions/<pid>.json`.

Claude Code (2.1.x) rewrites this file on every status change:
`{"pid", "sessionId", "cwd", "procStart", "status": "idle"|"busy"|"waiting",
"waitingFor": "permission prompt", "statusUpdatedAt": <ms>, ...}`. It is the most reliable
signal there is: `waiting` means a dialog/approval is open, `busy` a turn is running. The file
of the agent's Claude process is found through the tmux pane's process tree; a file whose pid
is gone or reused (start time differs from `procStart`) is ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tutti import proctree
from tutti.runtimes.base import AgentState, Detection

SOURCE = "state_file"
_STATES = {"idle": AgentState.IDLE, "busy": AgentState.WORKING, "waiting": AgentState.WAITING}


@dataclass
class ClaudeSessionState:
    pid: int
    status: str
    waiting_for: str | None
    session_id: str | None
    cwd: str | None
    status_updated_ms: int
    path: Path

    def to_detection(self) -> Detection | None:
        state = _STATES.get(self.status)
        if state is None:
            return None
        evidence = [f"{SOURCE}:{self.status}"]
        if self.waiting_for:
            evidence.append(f"waitingFor:{self.waiting_for}")
        return Detection(state=state, confidence=0.98, evidence=evidence, detail=self.waiting_for, source=SOURCE)


def read_state_file(path: Path) -> ClaudeSessionState | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None  # missing, or caught mid-rewrite: the caller falls back to the screen
    if not isinstance(data, dict) or "status" not in data:
        return None
    try:
        pid = int(data.get("pid") or path.stem)
    except ValueError:
        return None
    return ClaudeSessionState(
        pid=pid, status=str(data["status"]), waiting_for=data.get("waitingFor"),
        session_id=data.get("sessionId"), cwd=data.get("cwd"),
        status_updated_ms=int(data.get("statusUpdatedAt") or data.get("updatedAt") or 0), path=path,
    )


def find_session_state(sessions_dir: Path, pane_pid: int, *, hint: int | None = None) -> ClaudeSessionState | None:
    """The state file of the Claude process running under the pane (shell → claude).

    `hint`: the pid found last time — checked first, so the process tree is only walked when
    Claude was restarted.
    """
    if not sessions_dir.is_dir():
        return None
    if hint is not None:
        path = sessions_dir / f"{hint}.json"
        state = read_state_file(path) if path.is_file() else None
        if state is not None and _same_process(path, hint):
            return state
    for pid in proctree.descendants(pane_pid):
        path = sessions_dir / f"{pid}.json"
        if not path.is_file():
            continue
        state = read_state_file(path)
        if state is None:
            continue
        if not _same_process(path, pid):
            continue
        return state
    return None


def _same_process(path: Path, pid: int) -> bool:
    try:
        recorded = json.loads(path.read_text(encoding="utf-8")).get("procStart")
    except (OSError, json.JSONDecodeError):
        return False
    if recorded is None:
        return proctree.alive(pid)
    return str(proctree.start_ticks(pid)) == str(recorded)


def sessions_dir(config_dir: Path) -> Path:
    return config_dir / "sessions"
