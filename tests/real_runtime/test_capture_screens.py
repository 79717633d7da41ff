"""A representative slice of the capture sweep (scripts/capture_screens.py runs all of it):
Claude Code × {401, 529 overloaded} × {first turn, later turn}, recorded and classified —
live, then again offline from the recorded files."""

from __future__ import annotations

import json

import pytest

from tutti.testing import screen_capture as sc

pytestmark = [pytest.mark.real_runtime, pytest.mark.capture, pytest.mark.slow]


def test_capture_slice_is_classified_right_live_and_offline(tmp_path):
    if sc.cli_bin_dir() is None:
        pytest.skip("the agent CLIs are not installed: run scripts/install-agent-clis.sh (real-runtime tier)")
    out = tmp_path / "captured"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    sweep = sc.Sweep(out, scratch=scratch, patience=90, log=print)
    try:
        caps = sweep.run(["claude-code"], ["auth_401", "overloaded_529"])
    finally:
        sweep.close()
    assert len(caps) == 4
    assert [c.stem for c in caps if not c.ok] == [], [c.to_dict() for c in caps]
    for cap in caps:
        screen = out / cap.cli / f"{cap.stem}.txt"
        meta = json.loads(screen.with_suffix(".json").read_text())
        assert meta["detected"] == meta["expected"] and meta["latency_secs"] is not None
        assert str(scratch) not in screen.read_text()  # scratch paths are scrubbed
        assert sc.classify_capture(cap.cli, screen).state.value == cap.expected
    assert sc.check_recorded(out) == []
    assert "| claude-code | auth_401 | later |" in sc.write_results(out).read_text()
