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
