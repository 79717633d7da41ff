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


# An error followed by a "cancelled" notice (the user or the CLI gave up on the turn) is still
# the turn's failure: the notice does not make the agent healthy.
CANCELLED = {
    "claude-code": ("auth_401_first", "Not logged in", "  ⎿  Interrupted · What should Claude do instead?"),
    "codex": ("auth_401_first", "Unexpected status 401",
              "■ Conversation interrupted - tell the model what to do differently."),
    "aider": ("server_error_500_first", "InternalServerError", "^C KeyboardInterrupt"),
}


@pytest.mark.parametrize("cli", sorted(CANCELLED))
def test_error_followed_by_a_cancelled_notice_is_still_the_failure(cli):
    from tutti.runtimes.registry import get_adapter

    stem, error_words, notice = CANCELLED[cli]
    screen = CAPTURED / cli / f"{stem}.txt"
    if not screen.is_file():
        pytest.skip(f"{cli}/{stem} not captured")
    lines = screen.read_text(encoding="utf-8").splitlines()
    at = next(i for i, ln in enumerate(lines) if error_words in ln)
    lines.insert(at + 2, notice)
    det = get_adapter(cli).classify("\n".join(lines))
    assert det.state.value == _meta(screen)["expected"], (det.state, det.evidence)
