"""`tt handoff generate|apply|list` against a running fake agent in real tmux."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_generate_captures_the_screen_and_apply_sends_the_packet(agent_pipeline, tt):
    root = agent_pipeline({"api": {}, "api-gateway": {}})
    assert tt("up", "api", cwd=root, timeout=120).returncode == 0
    time.sleep(1.5)  # let the banner render
    res = tt("handoff", "generate", "api", "--json", cwd=root)
    assert res.returncode == 0, res.stderr
    packet = json.loads(res.stdout)
    assert packet["agent"] == "api" and packet["reason"] == "manual"
    text = Path(packet["packet"]).read_text()
    assert "## Recent Output" in text and "(session not running)" not in text
    listed = json.loads(tt("handoff", "list", "--agent", "api", "--json", cwd=root).stdout)
    assert [e["path"] for e in listed] == [packet["packet"]]
    assert json.loads(tt("handoff", "list", "--agent", "api-gateway", "--json", cwd=root).stdout) == []

    res = tt("handoff", "apply", "api", cwd=root)
    assert res.returncode == 0, res.stderr
    deadline = time.monotonic() + 30
    records = root / ".records" / "api.jsonl"
    while time.monotonic() < deadline and not records.exists():
        time.sleep(0.2)
    prompt = json.loads(records.read_text().splitlines()[0])["prompt"]
    assert prompt.startswith("Apply this Tutti handoff packet and continue execution.\nPacket: ")
    assert "--- BEGIN HANDOFF ---\n# Tutti Handoff: api" in prompt

    res = tt("handoff", "apply", "api-gateway", cwd=root)
    assert res.returncode != 0 and "no handoff packet found for agent 'api-gateway'" in res.stderr


def test_a_packet_is_applied_once_per_session_and_an_interrupted_apply_is_not_resent(agent_pipeline, tt):
    """Crash safety (#13): re-running `tt handoff apply` never types the same packet twice into
    one agent session; an apply cut off between sending and recording refuses without --force."""
    from tutti.workspace import load_workspace_at

    root = agent_pipeline({"api": {}})
    assert tt("up", "api", cwd=root, timeout=120).returncode == 0
    packet = json.loads(tt("handoff", "generate", "api", "--json", cwd=root).stdout)["packet"]
    records = root / ".records" / "api.jsonl"

    def prompts() -> list[str]:
        return [json.loads(line)["prompt"] for line in records.read_text().splitlines()] if records.exists() else []

    assert tt("handoff", "apply", "api", cwd=root).returncode == 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(prompts()) < 1:
        time.sleep(0.2)
    again = tt("handoff", "apply", "api", cwd=root)
    assert again.returncode == 0 and "already applied" in again.stdout
    time.sleep(2)
    assert len(prompts()) == 1

    # A crash after `apply_started` and before `applied`: the next apply says so and sends nothing.
    store = load_workspace_at(root).store
    second = Path(packet).with_name("manual-second.md")
    second.write_text(Path(packet).read_text())
    session = json.loads((root / ".tutti" / "state" / "api.json").read_text())["started_at"]
    store.append_event("handoff.apply_started", agent="api", data={"packet": str(second), "session": session})
    cut = tt("handoff", "apply", "api", "--packet", str(second), cwd=root)
    assert cut.returncode == 1 and "was interrupted after it began sending" in cut.stderr and "--force" in cut.stderr
    forced = tt("handoff", "apply", "api", "--packet", str(second), "--force", cwd=root)
    assert forced.returncode == 0, forced.stderr
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(prompts()) < 2:
        time.sleep(0.2)
    assert len(prompts()) == 2

    # A restarted agent is a new session: the packet may be applied to it again.
    tt("down", "api", cwd=root)
    assert tt("up", "api", cwd=root, timeout=120).returncode == 0
    fresh = tt("handoff", "apply", "api", "--packet", packet, cwd=root)
    assert fresh.returncode == 0 and "Applied" in fresh.stdout
