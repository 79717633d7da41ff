"""Every captured screen (the original's fixtures and real CLI captures) classifies to the
state listed in shared/fixtures/README.md. The adapter is chosen by the filename prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutti.runtimes.registry import get_adapter

FIXTURES = Path(__file__).parent / "fixtures"
PREFIX = {"claude": "claude-code", "codex": "codex", "aider": "aider", "gemini": "gemini-cli",
          "openclaw": "openclaw"}

EXPECTED = {
    "upstream/claude_working_spinner": "working",
    "upstream/claude_idle_prompt": "idle",
    "upstream/claude_idle_prompt_bar": "working",  # still thinking: upstream #122 mislabel
    "upstream/claude_auth_failed": "auth_failed",
    "upstream/codex_working_generating": "working",
    "upstream/codex_idle_completion_variant": "idle",
    "upstream/codex_idle_prompt_marker": "idle",
    "upstream/codex_rate_limit": "rate_limited",
    "upstream/aider_idle_prompt": "idle",
    "upstream/openclaw_provider_down": "provider_down",
    "real/aider_auth_failed": "auth_failed",
    "real/aider_auth_failed_prompt": "auth_failed",
    "real/aider_confirm_create_file": "waiting",
    "real/aider_firstrun_gitignore_prompt": "waiting",
    "real/aider_firstrun_model_warning_prompt": "waiting",
    "real/aider_firstrun_whatsnew_prompt": "waiting",
    "real/aider_idle_after_answer": "idle",
    "real/aider_startup_idle": "idle",
    "real/aider_working": "working",
    "real/claude_auth_failed": "auth_failed",
    "real/claude_auth_failed_fast": "auth_failed",
    "real/claude_bypass_idle_after_answer": "idle",
    "real/claude_firstrun_apikey_dialog": "waiting",
    "real/claude_firstrun_preflight_failed": "provider_down",
    "real/claude_firstrun_trust_dialog": "waiting",
    "real/claude_idle_after_answer": "idle",
    "real/claude_permission_dialog": "waiting",
    "real/claude_prompt_typed": "idle",
    "real/claude_ratelimit": "rate_limited",
    "real/claude_seeded_bypass_startup_idle": "idle",
    "real/claude_startup_idle": "idle",
    "real/claude_working": "working",
    "real/codex_auth_failed": "auth_failed",
    "real/codex_firstrun_model_popup": "waiting",
    "real/codex_firstrun_trust_dialog": "waiting",
    "real/codex_idle_after_answer": "idle",
    "real/codex_permission_dialog": "waiting",
    "real/codex_ratelimit": "rate_limited",
    "real/codex_ratelimit_retrying": "rate_limited",
    "real/codex_startup_idle": "idle",
    "real/codex_working": "working",
    "real/gemini_auth_failed": "auth_failed",
    "real/gemini_firstrun_apikey_dialog": "waiting",
    "real/gemini_firstrun_auth_dialog": "waiting",
    "real/gemini_firstrun_trust_dialog": "waiting",
    "real/gemini_idle_after_answer": "idle",
    "real/gemini_permission_dialog": "waiting",
    "real/gemini_ratelimit_spinner_6min": "working",  # retrying a 429 behind a spinner
    "real/gemini_seeded_yolo_startup_idle": "idle",
    "real/gemini_startup_idle": "idle",
    "real/gemini_working": "working",
    "composed/claude_api_retrying": "provider_down",  # Claude retrying on its own, see claude_code.py
    "composed/claude_api_retrying_early": "provider_down",  # attempt 2/10: a retry banner at any attempt (#11 §3)
}


def test_every_fixture_file_has_an_expected_state():
    on_disk = {f"{p.parent.name}/{p.stem}" for p in FIXTURES.glob("*/*.txt")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_fixture_screen_classifies_to_expected_state(fixture):
    path = FIXTURES / f"{fixture}.txt"
    adapter = get_adapter(PREFIX[path.stem.split("_", 1)[0]])
    detection = adapter.classify(path.read_text(encoding="utf-8"))
    assert detection.state.value == EXPECTED[fixture], (detection.state, detection.evidence)
    assert detection.evidence, "a classification always names the rule that produced it"
    assert detection.evidence[0].startswith(EXPECTED[fixture] + ":")


@pytest.mark.parametrize("fixture", [f for f, s in EXPECTED.items()
                                     if s in ("auth_failed", "rate_limited", "provider_down")])
def test_failure_detection_carries_the_error_line(fixture):
    path = FIXTURES / f"{fixture}.txt"
    detection = get_adapter(PREFIX[path.stem.split("_", 1)[0]]).classify(path.read_text(encoding="utf-8"))
    assert detection.detail and len(detection.detail) > 10
