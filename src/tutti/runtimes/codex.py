"""OpenAI Codex CLI: screen reading and launch.

Screens (Codex CLI 0.169): prompts echo as `› text`; the composer is `› Ask Codex to do
anything` above a footer (`fake-model default · ~/dir`, `? for shortcuts`). Working shows
`• Working (0s • esc to interrupt)`; errors are `■ unexpected status 401 …` or `■ exceeded
retry limit, last status: 429 …`; while it retries (401s included) a `Reconnecting... 2/5`
banner shows with the cause on a `└` line under it; dialogs are `› 1. …` choices with an `enter … / esc …` hint.
If the prompt text and Enter arrive in one burst Codex swallows the Enter: wait ~0.5 s.
"""

from __future__ import annotations

from tutti.runtimes.adapter import CliAdapter
from tutti.runtimes.base import AgentState
from tutti.runtimes.classifier import LEAD, Classifier, Rule, context_used_pct
from tutti.runtimes.patterns import BRAILLE_SPINNER, ERR, GENERIC_DOWN, QUOTA_LINE, dialog, failure_rules

W, I = AgentState.WORKING, AgentState.IDLE
STATUS = LEAD + r"(?:unexpected status|exceeded retry limit|stream error|error)\b"

AUTH = (
    LEAD + r"unexpected status (?:401|403)\b",
    STATUS + r".*(?:\b401\b|unauthorized|invalid_api_key|incorrect api key|authentication)",
    ERR + r".*(?:invalid_api_key|incorrect api key|\b401\b|unauthorized|authentication error)",
    LEAD + r"(?:Not logged in|Please log ?in|Your access token could not be refreshed)",
)
RATE = (
    QUOTA_LINE,
    STATUS + r".*(?:\b429\b|rate.?limit|too many requests|insufficient_quota|quota exceeded|usage limit)",
    ERR + r".*(?:rate_limit_exceeded|insufficient_quota|\b429\b|too many requests|quota exceeded)",
    LEAD + r"You've hit your usage limit",
)
DOWN = (
    STATUS + r".*(?:\b50[0234]\b|service unavailable|bad gateway|gateway timeout|overloaded|"
    r"stream disconnected|error sending request|connection refused)",
    # A retry banner at any attempt: `• Reconnecting... 1/5 (6s • esc to interrupt)` or `• Server
    # is busy, reconnecting 1/5`. Codex retries 401s and 429s too; their status is on the `└` line
    # under the banner, which is lower on screen and so wins over this.
    LEAD + r"(?:[\w ,'’]*\b)?reconnecting\b[.…]*\s*\d+\s*/\s*\d+",
    LEAD + r"stream disconnected before completion\b",
    *GENERIC_DOWN,
)

CLASSIFIER = Classifier(
    rules=[
        *failure_rules(auth=AUTH, rate=RATE, down=DOWN),
        # "• Working (3s • esc to interrupt)": the status line above the composer.
        Rule(W, r"^\s*•\s.*\(.*esc to interrupt\)", "bottom", name="esc to interrupt"),
        Rule(W, BRAILLE_SPINNER, "bottom", name="spinner"),
        Rule(W, r"^\s*(?:Thinking|Generating|Analyzing|Running|Working)\b", "last_lines", name="activity"),
        Rule(I, r"^\s*›\s", "bottom", name="composer"),
        Rule(I, r"How can I help|What would you like|\? for shortcuts", "bottom", name="question"),
    ],
    prompt_echo=r"^›\s+(?!\d+\.\s)\S",
    composer_lines=3,
    context_pct=context_used_pct,
    extra=[dialog("dialog", r"^\s*›\s*\d+\.\s",
                  r"(?:enter|esc)\b.*(?:confirm|continue|cancel|back)|\^c quit")],
)


class CodexAdapter(CliAdapter):
    name = "codex"
    default_command = "codex"
    classifier = CLASSIFIER
    prompt_style = "positional"
    submit_delay = 0.5
    policy_label = "Codex"

    def bypass_args(self) -> list[str]:
        return ["--dangerously-bypass-approvals-and-sandbox"]

    def constrained(self, ctx, spec, rules):
        prompt = super().constrained(ctx, spec, rules)
        spec.argv += ["-a", "never", "-s", "workspace-write"]
        return prompt
