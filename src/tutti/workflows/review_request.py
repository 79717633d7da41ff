"""A review request: the packet goes to the (running) reviewer agent with the verdict
instructions, and the reviewer's verdict file is polled for, validated and recorded
(`review.verdict` event). Shared by `tt review` (`ops.review`) and the workflow `review` step,
so it lives beside the engine, below `ops/`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutti.errors import AgentNotRunning, NotFoundError, TuttiError
from tutti.gates.review import (
    ReviewPacket,
    Verdict,
    build_packet,
    parse_verdict,
    record_verdict,
    review_prompt,
    verdict_request_path,
)
from tutti.workspace import Workspace

DEFAULT_VERDICT_TIMEOUT = 1800.0


@dataclass
class ReviewResult:
    agent: str
    reviewer: str
    packet: ReviewPacket
    verdict_path: Path | None = None
    sent: bool = False
    verdict: Verdict | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"agent": self.agent, "reviewer": self.reviewer, "packet": str(self.packet.path) if self.packet.has_changes else None,
                "has_changes": self.packet.has_changes, "verdict_path": str(self.verdict_path) if self.verdict_path else None,
                "sent": self.sent, "verdict": self.verdict.to_dict() if self.verdict else None, "message": self.message}


def agent_running(ws: Workspace, agent: str) -> bool:
    from tutti.sessions.backend import default_backend

    backend = default_backend()
    session = ws.session_name(agent)
    if not backend.exists(session):
        return False
    pane = backend.pane(session)
    return pane is None or not pane.dead


def send_prompt(ws: Workspace, agent: str, text: str) -> None:
    """Deliver `text` to a running agent without waiting (as `tt send`, never starting it)."""
    from tutti.delivery.send import send

    send(ws, agent, text, wait=False)


def request_review(ws: Workspace, agent: str, reviewer: str = "reviewer", *, run_id: str | None = None,
                   step: str | None = None) -> ReviewResult:
    """Write the packet and send it to the (running) reviewer with the verdict instructions."""
    if ws.config.agent(reviewer) is None:
        raise NotFoundError(f"reviewer agent '{reviewer}' not found in {ws.config_path}",
                            hint="add an [[agent]] for it, or pass --reviewer NAME")
    packet = build_packet(ws, agent)
    if not packet.has_changes:
        return ReviewResult(agent, reviewer, packet, message=f"No changes found for {agent}. Nothing to send for review.")
    if not agent_running(ws, reviewer):
        raise AgentNotRunning(f"reviewer '{reviewer}' is not running",
                              hint=f"start it first: tt up {reviewer}")
    verdict_path = verdict_request_path(ws, reviewer, packet)
    verdict_path.unlink(missing_ok=True)
    send_prompt(ws, reviewer, review_prompt(agent, packet, verdict_path))
    ws.store.append_event("review.requested", agent=agent, run_id=run_id, step=step,
                          data={"reviewer": reviewer, "packet": str(packet.path), "verdict_path": str(verdict_path),
                                "head": packet.head})
    return ReviewResult(agent, reviewer, packet, verdict_path, sent=True,
                        message=f"Sent review packet {packet.path} to '{reviewer}'.")


def await_verdict(ws: Workspace, result: ReviewResult, *, timeout: float = DEFAULT_VERDICT_TIMEOUT,
                  cancel: threading.Event | None = None, run_id: str | None = None, step: str | None = None,
                  poll: float = 0.5) -> Verdict:
    """Poll for the reviewer's verdict file, validate it and record it."""
    from tutti.workflows.artifacts import wait_for_file

    assert result.verdict_path is not None
    path = result.verdict_path
    last_error: list[TuttiError] = []

    def find() -> Path | None:
        if not path.exists():
            return None
        try:
            parse_verdict(path)
        except TuttiError as exc:  # maybe still being written: keep polling, remember why
            last_error[:] = [exc]
            return None
        return path

    try:
        wait_for_file(find, timeout=timeout, poll=poll, cancel=cancel,
                      alive=lambda: agent_running(ws, result.reviewer),
                      what=f"review verdict from '{result.reviewer}' at {path}", settle=poll)
    except TuttiError:
        if last_error:  # the file is there but invalid: that is the real problem
            raise last_error[0] from None
        raise
    verdict = parse_verdict(path)
    verdict.agent, verdict.reviewer = result.agent, result.reviewer
    verdict.packet, verdict.head = str(result.packet.path), result.packet.head
    record_verdict(ws, verdict, run_id=run_id, step=step)
    result.verdict = verdict
    return verdict
