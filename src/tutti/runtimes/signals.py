"""Structured state signals, preferred over screen scraping where a runtime offers one.

- Claude Code keeps a live state file `<config dir>/sessions/<pid>.json` with `status`
  `idle | busy | waiting` and `waitingFor` (e.g. `permission prompt`). The config dir is
  `CLAUDE_CONFIG_DIR` (Tutti gives every agent its own) or `~/.claude`.
- Codex writes a rollout log `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl` whose
  `task_started` / `task_complete` events are the exact edges of a turn.

Neither says anything about *why* a turn ended, so a failure read from the screen (auth,
rate limit, provider down) still wins — see `combine`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from tutti.runtimes.base import AgentState, Detection

TAIL_BYTES = 256 * 1024
CLAUDE_STATUS = {"busy": AgentState.WORKING, "idle": AgentState.IDLE, "waiting": AgentState.WAITING}


def claude_config_dir(env: Mapping[str, str]) -> Path:
    if env.get("CLAUDE_CONFIG_DIR"):
        return Path(env["CLAUDE_CONFIG_DIR"])
    return Path(env.get("HOME") or os.path.expanduser("~")) / ".claude"


def claude_state(env: Mapping[str, str], pid: int | None) -> Detection | None:
    """State from Claude Code's live session file for process `pid` (None if unavailable)."""
    if pid is None:
        return None
    path = claude_config_dir(env) / "sessions" / f"{pid}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    status = str(data.get("status", "")).lower() if isinstance(data, dict) else ""
    state = CLAUDE_STATUS.get(status)
    if state is None:
        return None
    detail = data.get("waitingFor") if state is AgentState.WAITING else None
    return Detection(state, 0.98, [f"{state.value}:state_file status={status}"], detail=detail,
                     source="state_file")


def codex_home(env: Mapping[str, str]) -> Path:
    if env.get("CODEX_HOME"):
        return Path(env["CODEX_HOME"])
    return Path(env.get("HOME") or os.path.expanduser("~")) / ".codex"


def latest_rollout(home: Path, workdir: Path) -> Path | None:
    """Most recently written rollout log of a Codex session started in `workdir`."""
    root = home / "sessions"
    if not root.is_dir():
        return None
    want = _resolved(workdir)
    candidates = sorted(root.rglob("rollout-*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in candidates:
        try:
            with open(path, encoding="utf-8") as fh:
                first = json.loads(fh.readline() or "{}")
        except (OSError, ValueError):
            continue
        cwd = (first.get("payload") or {}).get("cwd") if first.get("type") == "session_meta" else None
        if cwd and _resolved(Path(cwd)) == want:
            return path
    return None


def codex_state(env: Mapping[str, str], workdir: Path) -> Detection | None:
    """Working between `task_started` and `task_complete` of the latest rollout; else idle."""
    path = latest_rollout(codex_home(env), workdir)
    if path is None:
        return None
    last = None
    for record in _tail_records(path):
        if record.get("type") != "event_msg":
            continue
        kind = (record.get("payload") or {}).get("type")
        if kind in ("task_started", "task_complete", "turn_aborted"):
            last = kind
    if last is None:
        return None
    state = AgentState.WORKING if last == "task_started" else AgentState.IDLE
    return Detection(state, 0.97, [f"{state.value}:rollout {last}"], source="rollout")


def combine(screen: Detection, structured: Detection | None) -> Detection:
    """A structured signal decides working/idle/waiting; the screen still reports failures
    (and dialogs the state file does not know about)."""
    if structured is None:
        return screen
    if screen.state.is_failure or screen.state is AgentState.WAITING:
        screen.evidence = [*screen.evidence, *structured.evidence]
        return screen
    structured.evidence = [*structured.evidence, *screen.evidence]
    if structured.context_used_pct is None:
        structured.context_used_pct = screen.context_used_pct
    return structured


def _tail_records(path: Path) -> list[dict]:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - TAIL_BYTES))
            data = fh.read()
    except OSError:
        return []
    lines = data.split(b"\n")
    if size > TAIL_BYTES:
        lines = lines[1:]  # the first line of the window may be cut
    out = []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out


def _resolved(p: Path) -> Path:
    try:
        return p.resolve()
    except OSError:
        return p
