"""Recognising a failure from a runtime's own error text (status codes and provider wording)."""

from __future__ import annotations

import re

from tutti.runtimes.base import AgentState

# A conversation longer than the model's window is no provider failure: retrying or another
# profile does not help; someone has to compact, clear or hand off. It is `waiting`.
CONTEXT_EXCEEDED = (
    r"context[_ ]length[_ ]exceeded|maximum context length|context[ _]window|prompt is too long|"
    r"input token count.{0,40}exceeds|exceeds the maximum number of tokens|ContextWindowExceeded|"
    r"input is too long|too many tokens"
)
# Quota and billing: the account, not the provider; `rate_limited` (there is no quota state).
QUOTA = r"quota|insufficient_quota|credit balance|billing|usage limit|RESOURCE_EXHAUSTED"

_RULES: list[tuple[AgentState, re.Pattern[str]]] = [
    (AgentState.WAITING, re.compile(CONTEXT_EXCEEDED, re.IGNORECASE)),
    (AgentState.AUTH_FAILED, re.compile(
        r"\b(?:401|403)\b|unauthori[sz]ed|invalid[ _-]?api[ _-]?key|authentication[_ ](?:error|failed)|"
        r"incorrect api key|permission[_ ]denied|PERMISSION_DENIED|UNAUTHENTICATED", re.IGNORECASE)),
    (AgentState.RATE_LIMITED, re.compile(
        r"\b429\b|rate[ _-]?limit|too many requests|" + QUOTA, re.IGNORECASE)),
    (AgentState.PROVIDER_DOWN, re.compile(
        r"\b50[0-4]\b|\b529\b|overloaded|service unavailable|bad gateway|gateway timeout|"
        r"internal server error|connection (?:refused|reset|error|closed)|UNAVAILABLE|"
        # a broken stream: cut, stalled or unparseable
        r"stream (?:disconnected|closed|error)|error decoding|failed to parse|unexpected end|"
        r"transport error|timed? ?out\b|premature close", re.IGNORECASE)),
]


def classify_error_text(text: str) -> tuple[AgentState, str] | None:
    """(failure state, matched text) for an error message, or None if it names no failure.
    A context overflow is (WAITING, …): the agent needs someone before it can go on."""
    for state, pattern in _RULES:
        m = pattern.search(text)
        if m:
            return state, m.group(0)
    return None


def state_for_status(status: int) -> AgentState | None:
    if status in (401, 403):
        return AgentState.AUTH_FAILED
    if status == 429:
        return AgentState.RATE_LIMITED
    if status >= 500:
        return AgentState.PROVIDER_DOWN
    return None
