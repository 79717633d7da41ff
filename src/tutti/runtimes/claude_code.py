"""Claude Code: how its screen reads and how it is launched.

Screens (fixtures, Claude Code 2.1.x): submitted prompts echo as `❯ text`; the input box is
`───` / `❯ ` / `───` / footer. While working there is a status line `· Thundering… (0s · ↓ 2
tokens)` and the footer says `esc to interrupt`; a finished turn leaves `✻ Churned for 0s`
(no ellipsis). Errors print under the turn as `⎿  Invalid API key` or `● API Error: …`.

While Claude Code retries a failing request itself (10 attempts by default, backing off to
~32 s each: about 3 minutes in all) the status line reads `✻ API error · Retrying in 11s ·
attempt 6/10` and its state file still says busy, so the agent would look `working` until the
retries ran out. The banner is a failure at any attempt: `rate_limited` when it names a 429 /
rate limit, otherwise `provider_down` (it does not say why; a 401 is retried too, and shows as
`auth_failed` once the retries end and the transcript records the status). The detail is the
line (with its retry hint, which recovery reads).

When a turn finally fails, Claude Code writes the error into its session transcript
(`isApiErrorMessage`, `apiErrorStatus`): `signals.claude_transcript` reads that first.
"""

from __future__ import annotations

from tutti.runtimes.adapter import CliAdapter
from tutti.runtimes.base import AgentState
from tutti.runtimes.classifier import LEAD, Classifier, Rule, context_used_pct
from tutti.runtimes.patterns import BRAILLE_SPINNER, ERR, QUOTA_LINE, dialog, failure_rules

W, I = AgentState.WORKING, AgentState.IDLE

AUTH = (
    LEAD + r"Invalid API key\b",
    LEAD + r"API Error:?\s*(?:40[13])\b",
    ERR + r".*(?:authentication_error|invalid[_ ]api[_ ]key|invalid x-api-key|token has expired|"
    r"OAuth token|permission_error|\b401\b|\b403\b)",
    LEAD + r"(?:Please run /login|Not logged in|OAuth token has expired|Your session has expired)",
)
RATE = (
    LEAD + r"API Error\b.*(?:\b429\b|rate.?limit)",
    ERR + r".*(?:rate_limit|rate limit|too many requests|quota exceeded|\b429\b)",
    LEAD + r"(?:Claude(?: AI)? usage limit reached|You've hit your (?:usage |session |weekly )?limit|"
    r"Usage limit reached|(?:5-hour|weekly|session|Opus weekly) limit reached)",
)
# `✻ API error · Retrying in 11s · attempt 6/10` at any attempt, see the module docstring.
# The anchor comes first: a lookahead in front of `^` is tried at every column of every line
# (it scans to the line's end each time: ~2.5 ms a screen for each of the two rules).
_RETRYING = (r"[\s✻✢✳✶✽✺·*●⎿]*API\s?error\b[^\n]*?Retrying\b[^\n]*?attempt\s*\d+\s*/\s*\d+")
RETRYING_RATE = r"^(?=[^\n]*(?:\b429\b|rate.?limit))" + _RETRYING
RETRYING_DOWN = r"^(?![^\n]*(?:\b429\b|rate.?limit))" + _RETRYING
RATE = (*RATE, RETRYING_RATE, QUOTA_LINE)
DOWN = (
    RETRYING_DOWN,
    # Any other API error of the turn ("API Error: Failed to parse JSON", a dropped stream): the
    # provider failed the request. Auth and rate-limit lines also match here; they win on the
    # same line by precedence.
    LEAD + r"API Error\b(?!.*(?:prompt is too long|context (?:window|length)))",
    LEAD + r"API Error:?\s*(?:5\d\d)\b",
    ERR + r".*(?:overloaded_error|overloaded|service unavailable|bad gateway|gateway timeout|"
    r"upstream timeout|internal server error|api_error|\b50[0234]\b|\b529\b)",
    LEAD + r"(?:Unable to connect to (?:Anthropic|the API|API)|Failed to connect to|Connection error|"
    r"service unavailable|temporarily unavailable|upstream timeout|gateway timeout|bad gateway)",
)

CLASSIFIER = Classifier(
    rules=[
        *failure_rules(auth=AUTH, rate=RATE, down=DOWN),
        # The footer (last line) says "esc to interrupt" only while a turn runs.
        Rule(W, r"esc to interrupt", "last_lines", name="esc to interrupt"),
        # "✻ Blanching… (1m 2s · …)": a gerund with an ellipsis and a running timer. A finished
        # turn reads "✻ Churned for 0s" (no ellipsis), so it does not match.
        Rule(W, r"^\s*[·✢✳✶✻✽✺*•]\s*[A-Z][\w'-]*(?:\s\w+)*…\s*\(", "turn", name="status_ellipsis"),
        Rule(W, BRAILLE_SPINNER, "bottom", name="spinner"),
        Rule(I, r"^\s*❯(?:\s|$)", "bottom", name="prompt"),
        Rule(I, r"\? for shortcuts|shift\+tab to cycle", "bottom", name="footer"),
        Rule(I, r"What would you like to do\?|How can I help", "bottom", name="question"),
    ],
    prompt_echo=r"^❯\s+(?!\d+\.\s)\S",
    composer_lines=4,
    context_pct=context_used_pct,
    extra=[dialog("dialog", r"^\s*❯\s*\d+\.\s", r"Esc to (?:cancel|exit)|Enter to (?:confirm|select)")],
)


class ClaudeCodeAdapter(CliAdapter):
    name = "claude-code"
    default_command = "claude"
    classifier = CLASSIFIER
    prompt_style = "positional"

    def bypass_args(self) -> list[str]:
        return ["--permission-mode", "bypassPermissions"]

    def constrained(self, ctx, spec, rules):
        from tutti.policy.permissions import write_claude_settings

        path = write_claude_settings(ctx.state_dir, ctx.agent, rules)
        spec.argv += ["--permission-mode", "dontAsk", "--settings", str(path)]
        spec.enforcement = "hard"
        spec.notes.append(f"claude settings written to {path}")
        return ctx.prompt
