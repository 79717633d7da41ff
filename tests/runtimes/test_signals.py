"""Structured state signals: Claude's session state file and Codex's rollout log."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tutti.runtimes.base import AgentState, Detection
from tutti.runtimes.registry import get_adapter
from tutti.runtimes.signals import combine

HERE_ROLLOUT = Path(__file__).parent / "fixtures" / "logs" / "codex_rollout_sample.jsonl"


def test_claude_state_file_statuses(tmp_path):
    cfg = tmp_path / "claude"
    (cfg / "sessions").mkdir(parents=True)
    adapter = get_adapter("claude-code")
    env = {"CLAUDE_CONFIG_DIR": str(cfg)}
    assert adapter.structured_state(env, tmp_path, 4242) is None
    for status, state in (("busy", "working"), ("idle", "idle"), ("waiting", "waiting")):
        (cfg / "sessions" / "4242.json").write_text(json.dumps({"status": status, "waitingFor": "permission prompt"}))
        det = adapter.structured_state(env, tmp_path, 4242)
        assert det.state.value == state and det.source == "state_file"
    assert det.detail == "permission prompt"


def rollout_in(home: Path, workdir: Path, drop_last: bool = False) -> Path:
    lines = HERE_ROLLOUT.read_text().splitlines()
    meta = json.loads(lines[0])
    meta["payload"]["cwd"] = str(workdir)
    lines[0] = json.dumps(meta)
    if drop_last:
        lines = [ln for ln in lines if '"task_complete"' not in ln]
    day = home / "sessions" / "2026" / "11" / "24"
    day.mkdir(parents=True)
    path = day / "rollout-2026-11-24T03-29-42-x.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_codex_rollout_turn_edges(tmp_path):
    work = tmp_path / "wt"
    work.mkdir()
    adapter = get_adapter("codex")
    env = {"CODEX_HOME": str(tmp_path / "codex")}
    assert adapter.structured_state(env, work, None) is None
    path = rollout_in(tmp_path / "codex", work, drop_last=True)
    assert adapter.structured_state(env, work, None).state is AgentState.WORKING
    shutil.rmtree(path.parent.parent.parent.parent)
    rollout_in(tmp_path / "codex", work)
    det = adapter.structured_state(env, work, None)
    assert det.state is AgentState.IDLE and det.evidence == ["idle:rollout task_complete"]
    assert adapter.structured_state(env, tmp_path, None) is None  # another directory's session


def test_screen_failures_and_dialogs_beat_structured_state():
    busy = Detection(AgentState.WORKING, 0.98, ["working:state_file"], source="state_file")
    auth = Detection(AgentState.AUTH_FAILED, 0.95, ["auth_failed:Invalid API key"], detail="Invalid API key")
    assert combine(auth, busy).state is AgentState.AUTH_FAILED
    dialog = Detection(AgentState.WAITING, 0.9, ["waiting:dialog"])
    assert combine(dialog, Detection(AgentState.WORKING, 0.97, ["working:rollout"])).state is AgentState.WAITING
    idle_screen = Detection(AgentState.IDLE, 0.85, ["idle:prompt"], context_used_pct=40.0)
    merged = combine(idle_screen, Detection(AgentState.WORKING, 0.97, ["working:rollout task_started"]))
    assert merged.state is AgentState.WORKING and merged.context_used_pct == 40.0
    assert combine(idle_screen, None) is idle_screen
