"""Aider: screen reading and launch.

Aider is a line-oriented REPL: prompts echo as `> text`, the idle prompt is a bare `>` (or
`architect>` etc.), the model wait shows a `█░ Waiting for MODEL` scanner on the last line,
and questions end in `(Y)es/(N)o [Yes]:`. Errors print as `litellm.AuthenticationError: …`;
after a 401 aider blocks on a yes/no prompt — the error, not the prompt, is the state.
"""

from __future__ import annotations

from tutti.runtimes.adapter import CliAdapter
from tutti.runtimes.base import AgentState
from tutti.runtimes.classifier import LEAD, Classifier, Rule, context_used_pct
from tutti.runtimes.patterns import BRAILLE_SPINNER, GENERIC_AUTH, GENERIC_DOWN, GENERIC_RATE, failure_rules
from tutti.runtimes.signals.failure import CONTEXT_EXCEEDED

W, I, Q = AgentState.WORKING, AgentState.IDLE, AgentState.WAITING
# Aider prints an error where the cursor is: after a partial streamed answer it lands on the
# same line, past the terminal's padding ("Let me look at that file      litellm.APIConnection…").
AT = r"(?:" + LEAD + r"|^.*?\S\s{2,})"

AUTH = (
    # `Error: AuthenticationError - …` is the original tool's own fixture for aider (upstream port).
    AT + r"(?:Error:\s*)?(?:litellm\.)?AuthenticationError\b",
    LEAD + r"(?:No API key|API key not found|The API provider is not able to authenticate you)",
    # litellm maps a 401 on a *streamed* request to BadRequestError unless the provider's
    # wording is OpenAI's own ("Incorrect API key"); OpenAI-compatible proxies say otherwise.
    AT + r"litellm\.\w+Error:.*(?:invalid[ _]api[ _]key|incorrect api key|\b40[13]\b|unauthori[sz]ed|"
    r"insufficient permissions|permission denied|forbidden)",
    AT + r"(?:litellm\.)?PermissionDeniedError\b",
    *GENERIC_AUTH,
)
RATE = (
    AT + r"(?:litellm\.)?RateLimitError\b",
    LEAD + r"The API provider has rate limited you",
    *GENERIC_RATE,
)
DOWN = (
    AT + r"(?:litellm\.)?(?:ServiceUnavailableError|APIConnectionError|InternalServerError|Timeout)\b",
    # Any other litellm error of the turn: the provider failed the request (auth and rate lines
    # win on the same line by precedence; a context overflow is `waiting`).
    AT + r"litellm\.\w+Error\b(?!.*(?:" + CONTEXT_EXCEEDED + "))",
    LEAD + r"The API provider(?:'s servers are down| is overloaded)",
    *GENERIC_DOWN,
)

CLASSIFIER = Classifier(
    rules=[
        *failure_rules(auth=AUTH, rate=RATE, down=DOWN),
        # "Model X has hit a token limit! … possibly exhausted context window!": /drop or /clear first.
        Rule(Q, LEAD + r"Model \S+ has hit a token limit\b", "turn", name="context_exhausted"),
        Rule(Q, r"\(Y\)es/\(N\)o.*\[(?:Yes|No)\]:\s*$", "last_lines", name="yes_no"),
        Rule(W, r"Waiting for \S+|^\s*[░█▒▓]{2,}\s", "last_lines", name="waiting_for_model"),
        Rule(W, BRAILLE_SPINNER, "last_lines", name="spinner"),
        Rule(I, r"^\s*[\w-]*>\s*$", "last_lines", name="prompt"),
    ],
    prompt_echo=r"^[\w-]*> \S",
    context_pct=context_used_pct,
)


class AiderAdapter(CliAdapter):
    name = "aider"
    default_command = "aider"
    classifier = CLASSIFIER
    prompt_style = "flag"
    prompt_flag = "--message"
    policy_label = "Aider"
