"""Acknowledged prompt delivery: a prompt counts as delivered only when the runtime shows the
turn started — the state file turned busy/waiting, the rollout logged a new `task_started`,
or (screen fallback) the prompt left the input box and the agent is working.

If nothing happened because the runtime swallowed the Enter (Codex does when text and Enter
arrive in one burst), the prompt is still sitting in the input box: then, and only then, one
more Enter is pressed. An Enter is never pressed when the box does not hold the prompt or when
a dialog is open, so a prompt can never be submitted twice and a dialog is never answered by
accident. The prompt text itself is never re-typed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from tutti.runtimes.base import AgentState, Detection
from tutti.runtimes.signals import SignalSources

COMPOSER_GLYPHS = ("❯", "›", ">", "│ >", "| >", "* ")  # "* ": Gemini CLI in YOLO mode
PENDING_WINDOW_LINES = 3  # the input box sits within the last few non-empty lines
PROMPT_HEAD_CHARS = 40


@dataclass
class DeliveryResult:
    acknowledged: bool
    via: str | None  # state_file:busy | rollout:task_started | screen:working | screen:<state> …
    extra_enters: int
    elapsed_secs: float
    state: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TurnProbe:
    """Snapshot of the runtime's structured turn marker, taken *before* the prompt is sent."""

    def __init__(self, sources: SignalSources, pane_pid: Callable[[], int | None]) -> None:
        self.sources = sources
        self._pane_pid = pane_pid
        self.baseline = self._marker()

    def _marker(self) -> Any:
        rt = self.sources.runtime
        if rt == "claude-code" and self.sources.claude_config_dir:
            from tutti.runtimes.signals.claude_state import find_session_state, sessions_dir

            pid = self._pane_pid()
            st = find_session_state(sessions_dir(self.sources.claude_config_dir), pid) if pid else None
            return (st.status, st.status_updated_ms) if st else None
        if rt == "codex" and self.sources.codex_home:
            from tutti.runtimes.signals.codex_rollout import find_rollout, read_rollout

            path = find_rollout(self.sources.codex_home, self.sources.workdir)
            return read_rollout(path).last_started_turn if path else None
        return None

    @property
    def structured(self) -> bool:
        return self.sources.runtime in ("claude-code", "codex")

    def started(self) -> str | None:
        """Evidence that a turn started since the snapshot, or None."""
        now = self._marker()
        if now is None or now == self.baseline:
            return None
        if self.sources.runtime == "claude-code":
            status, updated = now
            if self.baseline is not None and updated <= self.baseline[1]:
                return None
            # idle with a newer timestamp: a whole (fast) turn happened between two polls
            return f"state_file:{status}"
        return "rollout:task_started"


def _head(prompt: str) -> str:
    return _norm(next((ln for ln in prompt.splitlines() if ln.strip()), ""))[:PROMPT_HEAD_CHARS]


def prompt_pending(screen: str, prompt: str) -> bool:
    """True when the prompt's first line is still in the input box (typed, not submitted)."""
    head = _head(prompt)
    if not head:
        return False
    lines = [ln for ln in screen.splitlines() if ln.strip()]
    for line in lines[-PENDING_WINDOW_LINES:]:
        text = line.strip().lstrip("│|").strip()
        if text.startswith(COMPOSER_GLYPHS) and head in _norm(text):
            return True
    return False


def prompt_echoed(screen: str, prompt: str) -> bool:
    """True when the prompt's first line shows in the transcript, above the input box."""
    head = _head(prompt)
    if not head:
        return False
    lines = [ln for ln in screen.splitlines() if ln.strip()]
    return any(head in _norm(line) for line in lines[:-PENDING_WINDOW_LINES])


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def confirm_turn_started(
    *,
    prompt: str,
    capture: Callable[[], str],
    classify: Callable[[str], Detection],
    press_enter: Callable[[], None],
    probe: TurnProbe | None = None,
    baseline_screen: str | None = None,
    timeout_secs: float = 20.0,
    retry_after_secs: float = 3.0,
    max_extra_enters: int = 1,
    poll_secs: float = 0.2,
    structured_grace_secs: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> DeliveryResult:
    """Wait until the runtime shows the turn started. Call right after the prompt's Enter.

    `probe` must have been created before the prompt was pasted; when the runtime has a
    structured signal, the weaker "prompt left the box" evidence waits `structured_grace_secs`
    for it first. Returns unacknowledged after
    `timeout_secs`; the caller decides whether that is an error.
    """
    start = clock()
    extra = 0
    echoed_before = baseline_screen is not None and prompt_echoed(baseline_screen, prompt)
    pending_seen = baseline_screen is not None and prompt_pending(baseline_screen, prompt)
    last_enter = start
    state: AgentState | None = None
    while True:
        elapsed = clock() - start
        if probe is not None:
            via = probe.started()
            if via:
                return DeliveryResult(True, via, extra, round(elapsed, 3), _state_of(via))
        screen = capture()
        det = classify(screen)
        state = det.state
        pending = prompt_pending(screen, prompt)
        if not pending and (state is AgentState.WORKING or state.is_failure
                            or (state is AgentState.WAITING and screen != baseline_screen)):
            return DeliveryResult(True, f"screen:{state.value}", extra, round(elapsed, 3), state.value)
        structured_first = probe is not None and probe.structured and elapsed < structured_grace_secs
        if not pending and state is AgentState.IDLE and screen != baseline_screen and not structured_first and (
                pending_seen or (baseline_screen is not None and not echoed_before and prompt_echoed(screen, prompt))):
            # The box held the prompt and no longer does, or the prompt now shows in the
            # transcript: consumed (a turn so fast it was over before we looked).
            return DeliveryResult(True, "screen:prompt_consumed", extra, round(elapsed, 3), state.value)
        pending_seen = pending_seen or pending
        if (pending and extra < max_extra_enters and state not in (AgentState.WAITING, AgentState.STOPPED)
                and clock() - last_enter >= retry_after_secs):
            press_enter()  # the Enter was swallowed: the prompt is still in the box
            extra += 1
            last_enter = clock()
        if elapsed >= timeout_secs:
            return DeliveryResult(False, None, extra, round(elapsed, 3), state.value if state else None)
        sleep(poll_secs)


def _state_of(via: str) -> str:
    tail = via.split(":", 1)[-1]
    return {"busy": "working", "task_started": "working"}.get(tail, tail)
