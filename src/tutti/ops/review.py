"""`tt review AGENT [--reviewer R] [--wait]`: packet → reviewer agent → structured verdict.

The reviewer must be running for the CLI (as in the original); workflow review steps start
it first (`workflows.steps.review`). The request and the verdict wait are
`tutti.workflows.review_request`, shared with that step. With `wait`, the reviewer's verdict file is polled for,
validated and recorded (`review.verdict` event) — the original never collected a verdict.
"""

from __future__ import annotations

import threading

from tutti.workflows.review_request import (  # noqa: F401 - re-exported: the names callers use
    DEFAULT_VERDICT_TIMEOUT,
    ReviewResult,
    agent_running,
    await_verdict,
    request_review,
    send_prompt,
)
from tutti.workspace import Workspace


def review(ws: Workspace, agent: str, reviewer: str = "reviewer", *, wait: bool = False,
           timeout: float = DEFAULT_VERDICT_TIMEOUT, cancel: threading.Event | None = None) -> ReviewResult:
    result = request_review(ws, agent, reviewer)
    if wait and result.sent:
        verdict = await_verdict(ws, result, timeout=timeout, cancel=cancel)
        result.message = f"{reviewer} verdict for {agent}: {verdict.verdict} ({len(verdict.findings)} finding(s))"
    return result

