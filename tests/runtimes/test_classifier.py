"""Classifier behaviour beyond the fixtures: anchoring, turns, precedence, context %."""

from __future__ import annotations

import pytest

from tutti.runtimes.base import AgentState
from tutti.runtimes.classifier import Classifier, Rule
from tutti.runtimes.registry import get_adapter

CLAUDE_BOX = "\n" + "─" * 80 + "\n❯ \n" + "─" * 80 + "\n  ? for shortcuts\n"


def test_unauthorized_in_ordinary_output_is_not_an_auth_failure():
    screen = ("❯ Review the auth middleware\n"
              "● Here is the diff:\n"
              "  -    return res.status(401).send('unauthorized')\n"
              "  +    throw new UnauthorizedError('token has expired, please log in')\n"
              "  Rate limit handling: too many requests now return 429.\n"
              "✻ Worked for 3s\n" + CLAUDE_BOX)
    d = get_adapter("claude-code").classify(screen)
    assert d.state is AgentState.IDLE, d.evidence


def test_an_error_from_an_earlier_turn_is_history():
    screen = ("❯ first\n  ⎿  Invalid API key · Fix external API key\n\n"
              "❯ second\n● All good now.\n✻ Worked for 1s\n" + CLAUDE_BOX)
    assert get_adapter("claude-code").classify(screen).state is AgentState.IDLE


def test_whole_screen_is_read_not_a_six_line_window():
    # upstream #122: the status line sat above a long prompt bar and footer.
    screen = ("✻ Blanching… (1m 2s · ↓ 520 tokens · thinking)\n" + "\n" * 3 + "  ⎿  Tip: …\n"
              + "\n".join(["filler"] * 12) + CLAUDE_BOX)
    assert get_adapter("claude-code").classify(screen).state is AgentState.WORKING


def test_dialog_beats_working_and_failure_beats_dialog():
    c = Classifier(rules=[Rule("working", "spin", "bottom"), Rule("waiting", r"\[y/n\]", "bottom"),
                          Rule("rate_limited", "^Error: 429", "turn")])
    assert c.classify("spin\nproceed? [y/n]").state is AgentState.WAITING
    assert c.classify("Error: 429 slow down\nspin\nproceed? [y/n]").state is AgentState.RATE_LIMITED


def test_lowest_failure_on_screen_wins():
    c = Classifier(rules=[Rule("auth_failed", "^auth!", "turn"), Rule("rate_limited", "^rate!", "turn")])
    assert c.classify("auth!\nrate!").state is AgentState.RATE_LIMITED
    assert c.classify("rate!\nauth!").state is AgentState.AUTH_FAILED


def test_nothing_recognisable_is_unknown():
    d = get_adapter("codex").classify("random text\nnothing here\n")
    assert d.state is AgentState.UNKNOWN and d.confidence == 0.0


@pytest.mark.parametrize("runtime,footer,used", [
    ("codex", "  gpt-5.4 high · 68% left · ~/repo", 32.0),
    ("claude-code", "  Context left until auto-compact: 12%", 88.0),
    ("gemini-cli", " ~/repo   gemini-2.5-pro (95% context left)", 5.0),
    ("codex", "  context used: 40%", 40.0),
])
def test_context_is_normalised_to_used(runtime, footer, used):
    assert get_adapter(runtime).classify(f"› Ask Codex to do anything\n{footer}\n").context_used_pct == used


def test_rule_rejects_unknown_region():
    with pytest.raises(ValueError):
        Rule("idle", "x", "somewhere")


def test_failure_detail_joins_a_wrapped_error_line():
    long = "✕ [API Error: {\"error\":{\"message\":\"Incorrect API key provided: sk-fake***. You can find your API key at"
    screen = f" > hi\n{long}\n  https://example.invalid/keys.\",\"code\":\"invalid_api_key\"}}}}]\n"
    d = get_adapter("gemini-cli").classify(screen)
    assert d.state is AgentState.AUTH_FAILED
    assert d.detail.endswith('"code":"invalid_api_key"}}]')


@pytest.mark.parametrize("line", [
    "  ⎿  Claude usage limit reached. Your limit will reset at 5pm.",
    "● 5-hour limit reached ∙ resets 5pm",
    "  ⎿  API Error: 429 {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\"}}",
])
def test_claude_usage_and_rate_limits(line):
    screen = f"❯ do it\n{line}\n" + CLAUDE_BOX
    assert get_adapter("claude-code").classify(screen).state is AgentState.RATE_LIMITED


def test_esc_to_interrupt_in_an_answer_is_not_working():
    screen = ("❯ how do I stop you?\n● Press Esc — the footer says esc to interrupt while I work.\n"
              "✻ Worked for 1s\n" + CLAUDE_BOX)
    assert get_adapter("claude-code").classify(screen).state is AgentState.IDLE
