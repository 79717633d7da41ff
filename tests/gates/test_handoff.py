"""Handoff packets: generation, exact agent matching, apply errors, auto-trigger with cooldown."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tutti.errors import NotFoundError, UsageError
from tutti.ops.handoff import apply, auto_trigger_pct, generate, list_packets, maybe_auto_handoff

from .conftest import add_worktree


@pytest.fixture(autouse=True)
def private_tmux(monkeypatch):
    monkeypatch.setenv("TUTTI_TMUX_SOCKET", f"tutti-test-handoff-{os.getpid()}")


def test_generate_writes_packet_with_changed_files_and_event(make_ws):
    ws = make_ws()
    wt = add_worktree(ws.root, "impl")
    (wt / "new.py").write_text("x = 1\n")
    packet = generate(ws, "impl", reason="manual", ctx=83)
    text = Path(packet.packet).read_text()
    assert packet.packet.startswith(str(ws.root / ".tutti" / "handoffs" / "impl-handoff-"))
    for part in ("# Tutti Handoff: impl", "- Trigger: manual", "- CTX: 83%", "?? new.py",
                 "(session not running)", "## Next Prompt Template"):
        assert part in text
    assert ws.store.read_events(kinds=["handoff.generated"])[0].data["ctx_pct"] == 83


def test_list_does_not_confuse_api_with_api_gateway(make_ws):
    ws = make_ws()
    gw = generate(ws, "api-gateway", ctx=10)
    api = generate(ws, "api", ctx=10)
    assert [e.path for e in list_packets(ws, agent="api")] == [api.packet]
    assert [e.path for e in list_packets(ws, agent="api-gateway")] == [gw.packet]
    assert {e.agent for e in list_packets(ws)} == {"api", "api-gateway"}
    with pytest.raises(UsageError):
        list_packets(ws, limit=0)


def test_apply_picks_only_the_agents_own_packets(make_ws):
    ws = make_ws()
    generate(ws, "api-gateway", ctx=10)
    with pytest.raises(NotFoundError, match="no handoff packet found for agent 'api'"):
        apply(ws, "api")
    with pytest.raises(UsageError, match="outside the workspace"):
        apply(ws, "api", packet="../../etc/passwd")


def test_threshold_is_fraction_left_so_trigger_is_used_percentage():
    assert auto_trigger_pct(0.2) == 80.0
    assert auto_trigger_pct(0.35) == 65.0


def test_auto_handoff_fires_at_threshold_once_per_cooldown(make_ws):
    ws = make_ws('\n[handoff]\nauto = true\nthreshold = 0.2\n')
    assert maybe_auto_handoff(ws, "impl", 79.0) is None  # 21% left: not yet
    assert maybe_auto_handoff(ws, "impl", None) is None  # unknown context: never guess
    first = maybe_auto_handoff(ws, "impl", 85.0)
    assert first is not None and first.reason == "auto_ctx_threshold"
    assert maybe_auto_handoff(ws, "impl", 90.0) is None  # cooldown
    os.utime(first.packet, (time.time() - 400, time.time() - 400))
    assert maybe_auto_handoff(ws, "impl", 90.0, now=datetime.now(UTC)) is not None


def test_auto_handoff_off_by_default(make_ws):
    ws = make_ws()
    assert maybe_auto_handoff(ws, "impl", 99.0) is None
