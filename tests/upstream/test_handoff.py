"""Port of the original's `src/cli/handoff.rs` tests (@ 2e3e767): the auto-handoff trigger and the
packet's recent output, through `tt handoff generate` on a real tmux session."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

HEAD = '[workspace]\nname = "ws"\n\n[defaults]\nworktree = false\n\n[[agent]]\nname = "backend"\nruntime = "codex"\n'


@pytest.mark.parametrize(("threshold", "trigger"), [(0.2, 80.0), (0.5, 50.0)])
def test_auto_handoff_trigger_pct_maps_threshold(threshold, trigger):
    """upstream: src/cli/handoff.rs::tests::auto_handoff_trigger_pct_maps_threshold — `threshold`
    is the fraction of context LEFT: 0.2 → hand off at 80 % used."""
    from tutti.ops.handoff import auto_trigger_pct

    assert auto_trigger_pct(threshold) == trigger


@pytest.mark.parametrize(("auto", "used", "expected"), [
    (True, 80, True), (True, 92, True), (True, 70, False), (False, 99, False)])
def test_should_auto_generate_respects_toggle_and_threshold(ws, auto, used, expected):
    """upstream: src/cli/handoff.rs::tests::should_auto_generate_respects_toggle_and_threshold"""
    from tutti.ops.handoff import maybe_auto_handoff
    from tutti.workspace import load_workspace_at

    root = ws(HEAD + f"\n[handoff]\nauto = {str(auto).lower()}\nthreshold = 0.2\n")
    packet = maybe_auto_handoff(load_workspace_at(root), "backend", float(used))
    assert (packet is not None) == expected
    if packet is not None:
        assert packet.reason == "auto_ctx_threshold" and Path(packet.packet).is_file()


@pytest.mark.slow
def test_extract_recent_non_empty_lines_trims_and_limits(ws, tt, tmux_socket):
    """upstream: src/cli/handoff.rs::tests::extract_recent_non_empty_lines_trims_and_limits — the
    packet's Recent Output holds the screen's non-empty lines, trimmed; the Active Task Guess is the
    last one (ours keeps the last 40, as the original's generate did)."""
    root = ws(HEAD)
    subprocess.run(["tmux", "-L", tmux_socket, "new-session", "-d", "-s", "tutti-ws-backend", "-x", "200", "-y", "50",
                    "sh", "-c", "printf '\\nline1\\n\\n line2 \\nline3\\n'; sleep 60"], check=True)
    for _ in range(50):
        res = tt("handoff", "generate", "backend", "--json", cwd=root)
        text = Path(json.loads(res.stdout)["packet"]).read_text()
        if "line3" in text:
            break
    recent = text.split("## Recent Output", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    assert recent.splitlines() == ["line1", "line2", "line3"]
    assert "## Active Task Guess\n" in text
