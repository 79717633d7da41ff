"""OpenClaw: screen reading and launch (prompt via `--prompt`, shims for the constrained policy)."""

from __future__ import annotations

from tutti.runtimes.adapter import CliAdapter
from tutti.runtimes.base import AgentState
from tutti.runtimes.classifier import Classifier, Rule, context_used_pct
from tutti.runtimes.patterns import BRAILLE_SPINNER, failure_rules

W, I = AgentState.WORKING, AgentState.IDLE

CLASSIFIER = Classifier(
    rules=[
        *failure_rules(),
        Rule(W, r"esc to interrupt", "bottom", name="esc to interrupt"),
        Rule(W, BRAILLE_SPINNER, "bottom", name="spinner"),
        Rule(W, r"^\s*(?:Thinking|Generating|Running|Planning)\b", "last_lines", name="activity"),
        Rule(I, r"^\s*openclaw>\s*$|^\s*>\s*$", "last_lines", name="prompt"),
        Rule(I, r"What would you like to do\?|How can I help", "bottom", name="question"),
    ],
    prompt_echo=r"^(?:openclaw)?> \S",
    context_pct=context_used_pct,
)


class OpenClawAdapter(CliAdapter):
    name = "openclaw"
    default_command = "openclaw"
    classifier = CLASSIFIER
    prompt_style = "flag"
    prompt_flag = "--prompt"
    policy_label = "OpenClaw"
