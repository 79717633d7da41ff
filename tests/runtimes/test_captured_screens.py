"""Every screen the capture harness recorded from the real CLIs (scripts/capture_screens.py →
tests/fixtures/screens/captured/<cli>/<failure>_<turn>.*) classifies to its label, from the
screen and the structured signal recorded with it — fast, without the CLIs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tutti.testing.screen_capture import CLIS, FAILURES, POSITIONS, captured_files, classify_capture

CAPTURED = Path(__file__).resolve().parents[1] / "fixtures" / "screens" / "captured"
CASES = captured_files(CAPTURED) if CAPTURED.is_dir() else []


def _meta(screen: Path) -> dict:
    return json.loads(screen.with_suffix(".json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("cli", "screen"), CASES, ids=[f"{c}/{p.stem}" for c, p in CASES])
def test_captured_screen_classifies_to_its_label(cli, screen):
    meta = _meta(screen)
    det = classify_capture(cli, screen)
    assert det.state.value == meta["expected"], (det.state, det.source, det.evidence, det.detail)
    assert det.evidence, "a classification always names what produced it"


@pytest.mark.parametrize(("cli", "screen"), CASES, ids=[f"{c}/{p.stem}" for c, p in CASES])
def test_captured_label_follows_the_failure_table(cli, screen):
    meta = _meta(screen)
    assert meta["cli"] == cli and meta["expected"] == FAILURES[meta["failure"]][1]


def test_captures_cover_every_cli_failure_and_turn_position():
    have = {(c, p.stem) for c, p in CASES}
    want = {(c, f"{f}_{pos}") for c in CLIS for f in FAILURES for pos in POSITIONS}
    missing = sorted(want - have)
    assert not missing, f"not captured yet: {missing}"
