"""Failure and chrome patterns shared by several runtimes.

Every failure pattern is anchored to the start of a line (after bullets and tree glyphs, see
`classifier.LEAD`) and to an error-line shape, so a diff or a log that merely mentions
"unauthorized" or "rate limit" does not flip an agent into a failure state.
"""

from __future__ import annotations

import re

from tutti.runtimes.base import AgentState
from tutti.runtimes.classifier import LEAD, Rule, Screen
from tutti.runtimes.signals.failure import CONTEXT_EXCEEDED

ERR = LEAD + r"(?:\[?API\s?Error|Error|error)\b[:\s]"

GENERIC_AUTH = (
    ERR + r".*(?:\b401\b|\b403\b|authentication_error|invalid_api_key|invalid x-api-key|"
    r"incorrect api key|token has expired|unauthorized|not authenticated)",
    LEAD + r"(?:please log ?in|not logged in|session expired)\b",
)
# Quota and billing messages (the account is out of credit/quota): `rate_limited`, there is
# no quota state. At a line start or after an error prefix, in any CLI's words.
QUOTA_LINE = (
    LEAD + r"(?:[^\n]*\b(?:API\s?Error|Error|error)\b[^\n]*?)?(?:credit balance[^\n]*too low|"
    r"you(?:'ve)? exceeded your current quota|insufficient[_ ]quota|quota (?:exceeded|exhausted)|"
    r"out of (?:credits|quota))"
)
# The conversation outgrew the model's window: `waiting` (someone must compact, clear or hand
# off). An error line naming it, or a CLI's own notice of it.
CONTEXT_LINE = (
    LEAD + r"(?:[^\n]*\b(?:API\s?Error|Error|error)\b[^\n]*?(?:" + CONTEXT_EXCEEDED + r")|"
    r"[\w ]*ran out of room in the model's context window|prompt is too long|context limit reached)"
)
GENERIC_RATE = (
    QUOTA_LINE,
    ERR + r".*(?:\b429\b|rate_limit|rate.?limit|too many requests|quota exceeded|insufficient_quota)",
)
GENERIC_DOWN = (
    ERR + r".*(?:\b50[0234]\b|\b529\b|service unavailable|temporarily unavailable|bad gateway|"
    r"gateway timeout|upstream timeout|overloaded|connection (?:refused|reset))",
    LEAD + r"(?:service unavailable|temporarily unavailable|provider unavailable|upstream timeout|"
    r"gateway timeout|bad gateway|connection refused|connection reset)\b",
)

# Spinner glyph at a line start followed by a word: "⠼ Thinking...". Anchored so the braille
# art in Codex's start-up logo is not read as a spinner.
BRAILLE_SPINNER = r"^\s*[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]\s+\w"


def failure_rules(where: str = "turn", *, auth=GENERIC_AUTH, rate=GENERIC_RATE,
                  down=GENERIC_DOWN) -> list[Rule]:
    """Failure rules of the latest turn, plus the context-overflow notice (`waiting`)."""
    out: list[Rule] = [Rule(AgentState.WAITING, CONTEXT_LINE, where, name="context_exhausted")]
    for state, pats in ((AgentState.AUTH_FAILED, auth), (AgentState.RATE_LIMITED, rate),
                        (AgentState.PROVIDER_DOWN, down)):
        out += [Rule(state, p, where) for p in pats]
    return out


def dialog(name: str, select: str, hint: str, *, select_lines: int = 10, hint_lines: int = 3):
    """A `Classifier.extra` check: a numbered selection near the bottom AND a confirm hint
    in the last lines means the agent is blocked on a dialog (waiting)."""
    select_rx = re.compile(select, re.IGNORECASE)
    hint_rx = re.compile(hint, re.IGNORECASE)

    def check(screen: Screen):
        nonempty = [ln for _, ln in screen.region("screen") if ln.strip()]
        if not any(select_rx.search(ln) for ln in nonempty[-select_lines:]):
            return None
        if not any(hint_rx.search(ln) for ln in nonempty[-hint_lines:]):
            return None
        return AgentState.WAITING, f"waiting:{name}", None

    return check


def box_dialog(name: str, content: str):
    """A `Classifier.extra` check for TUIs (Gemini CLI) that draw dialogs as a rounded box:
    the screen ends with a closed box whose body offers choices or asks for input."""
    content_rx = re.compile(content, re.IGNORECASE)
    top_rx = re.compile(r"^\s*╭")
    bottom_rx = re.compile(r"^\s*╰─+╯\s*$")

    def check(screen: Screen):
        lines = screen.lines
        if not lines or not bottom_rx.match(lines[-1]):
            return None
        for i in range(len(lines) - 2, -1, -1):
            if top_rx.match(lines[i]):
                body = lines[i:]
                if any(content_rx.search(ln) for ln in body):
                    return AgentState.WAITING, f"waiting:{name}", None
                return None
        return None

    return check
