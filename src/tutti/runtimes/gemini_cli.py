"""Gemini CLI: screen reading and launch.

Screens (Gemini CLI 0.61): prompts echo as ` > text`; the composer is ` >   Type your
message or @path/to/file` (` *` in YOLO mode) above a workspace/branch/model footer. Working
shows `⠼ Thinking... (esc to cancel, 5s)`; errors are `✕ [API Error: {json}]`; dialogs are a
rounded box at the bottom offering `● 1. …` choices. On a 429 the screen shows only
`Thinking...` for minutes while it retries: that is "working" on screen, and only a working
timeout (or the chat log) can reveal it.
"""

from __future__ import annotations

from tutti.runtimes.adapter import CliAdapter
from tutti.runtimes.base import AgentState
from tutti.runtimes.classifier import LEAD, Classifier, Rule, context_used_pct
from tutti.runtimes.patterns import BRAILLE_SPINNER, GENERIC_DOWN, QUOTA_LINE, box_dialog, failure_rules
from tutti.runtimes.signals.failure import CONTEXT_EXCEEDED

W, I = AgentState.WORKING, AgentState.IDLE
API = LEAD + r"\[?API Error\b"

AUTH = (
    API + r".*(?:\b401\b|\b403\b|invalid_api_key|incorrect api key|API key not valid|API_KEY_INVALID|"
    r"UNAUTHENTICATED|PERMISSION_DENIED)",
    LEAD + r"(?:Failed to login|Please set an Auth method|authentication failed)",
)
RATE = (
    QUOTA_LINE,
    API + r".*(?:\b429\b|RESOURCE_EXHAUSTED|rate.?limit|quota)",
    LEAD + r"(?:Possible quota limitations|You have reached your daily|Usage limit reached\b)",
)
DOWN = (
    API + r".*(?:\b50[0234]\b|UNAVAILABLE|overloaded|INTERNAL|DEADLINE_EXCEEDED|fetch failed|ECONNREFUSED)",
    # Any other API error of the turn (`[API Error: terminated]` when a stream is cut): the
    # provider failed the request; auth and rate lines win on the same line by precedence.
    API + r"(?!.*(?:" + CONTEXT_EXCEEDED + "))",
    *GENERIC_DOWN,
)

CLASSIFIER = Classifier(
    rules=[
        *failure_rules(auth=AUTH, rate=RATE, down=DOWN),
        Rule(W, BRAILLE_SPINNER, "bottom", name="spinner"),
        Rule(W, r"\(esc to cancel, [\dhms ]+\)", "bottom", name="esc to cancel"),
        Rule(I, r"Type your message", "bottom", name="composer"),
        Rule(I, r"\? for shortcuts", "bottom", name="footer"),
    ],
    prompt_echo=r"^ ?> \S",
    composer_lines=4,
    context_pct=context_used_pct,
    extra=[box_dialog("dialog", r"●\s*\d+\.|\bEnter to\b|Press Enter|\(esc\)|Do you trust")],
)


class GeminiCliAdapter(CliAdapter):
    name = "gemini-cli"
    default_command = "gemini"
    classifier = CLASSIFIER
    prompt_style = "flag"
    prompt_flag = "-i"  # --prompt-interactive: run the prompt and stay interactive
    # Under load Gemini CLI is still taking in a paste when a quick Enter arrives and drops it
    # (seen in the capture sweep): give the paste time, like Codex.
    submit_delay = 0.5
    policy_label = "Gemini CLI"

    def bypass_args(self) -> list[str]:
        return ["--yolo"]
