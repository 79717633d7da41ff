"""The API-direct agent loop: ask the model, gate and run its tool calls, repeat.

Stops when the model ends its turn without tool calls, at `max_turns`, when the cost so far
reaches `budget_usd`, or when `cancel` is set. Everything is recorded through `RunRecorder`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tutti.direct.context import DEFAULT_MAX_CHARS, compact, size
from tutti.direct.events import RunRecorder, RunTotals
from tutti.direct.messages import Message, StreamDelta, ToolResultBlock
from tutti.direct.policy import PolicyGate
from tutti.direct.pricing import PriceTable
from tutti.direct.providers.chain import ProviderChain
from tutti.direct.tools import ToolBox, ToolOutcome
from tutti.errors import TuttiError

DEFAULT_SYSTEM = (
    "You are a coding agent working in a project directory. Use the tools to read, search and change "
    "files and to run commands; paths are relative to the project root. When the task is done, reply "
    "with a short summary and no tool calls."
)


@dataclass
class LoopResult:
    run_id: str
    status: str  # completed | stopped | failed
    stop_reason: str  # end_turn | max_turns | budget | cancelled | max_tokens | error
    final_text: str
    totals: RunTotals
    messages: list[Message] = field(default_factory=list)
    error: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "stop_reason": self.stop_reason,
            "final_text": self.final_text,
            "totals": self.totals.to_dict(),
            "error": self.error,
        }


@dataclass
class AgentLoop:
    chain: ProviderChain
    toolbox: ToolBox
    gate: PolicyGate
    recorder: RunRecorder
    pricing: PriceTable = field(default_factory=PriceTable)
    max_turns: int = 40
    system: str | None = DEFAULT_SYSTEM
    cancel: threading.Event = field(default_factory=threading.Event)
    on_delta: Callable[[StreamDelta], None] | None = None
    allowed_tools: list[str] | None = None
    max_context_chars: int = DEFAULT_MAX_CHARS
    # Called after each tool call with (tool name, arguments, outcome, denied) — live display.
    on_tool: Callable[[str, dict[str, Any], ToolOutcome, bool], None] | None = None
    _finalize: bool = field(default=True, init=False, repr=False)

    def start(self, prompt: str, *, origin: str = "direct", extra: dict[str, Any] | None = None) -> None:
        p = self.chain.active.settings
        self.recorder.started(
            {
                "origin": origin,
                "prompt": prompt[:4000],
                "provider": p.kind,
                "profile": p.profile,
                "model": p.model,
                "fallbacks": [x.settings.label for x in self.chain.providers[1:]],
                "max_turns": self.max_turns,
                "root": str(self.toolbox.root),
                "policy": self.gate.policy.to_dict(),
                **(extra or {}),
            }
        )

    def run(self, messages: list[Message], *, finalize: bool = True) -> LoopResult:
        """Continue the conversation in `messages` (mutated in place) until a stop condition.

        `finalize=False` leaves the run open (no completed/failed event) so a caller can
        continue it, e.g. to re-ask for a missing output file; it then calls `finish()`."""
        self._finalize = finalize
        rec = self.recorder
        budget = self.gate.policy.budget_usd
        tools = self.toolbox.specs(self.allowed_tools)
        final_text = ""
        try:
            for turn in range(rec.totals.turns + 1, rec.totals.turns + self.max_turns + 1):
                if self.cancel.is_set():
                    return self._finish("stopped", "cancelled", final_text, messages)
                if budget is not None and rec.totals.cost_usd >= budget:
                    return self._finish("stopped", "budget", final_text, messages)
                elided = compact(messages, max_chars=self.max_context_chars)
                if elided:
                    rec.event(
                        "direct.context_compacted",
                        {"turn": turn, "chars_elided": elided, "chars_now": size(messages)},
                    )
                response = self.chain.complete(
                    messages,
                    tools,
                    system=self.system,
                    on_delta=self.on_delta,
                    on_event=rec.provider_event,
                    cancel=self.cancel,
                )
                cost, priced = self.pricing.cost(response.model, response.usage)
                rec.model_call(turn, response, cost, priced)
                messages.append(response.message)
                final_text = response.message.text or final_text
                calls = response.message.tool_uses
                if not calls:
                    stop = "max_tokens" if response.stop_reason == "max_tokens" else "end_turn"
                    return self._finish("completed", stop, final_text, messages)
                results = [self._call_tool(turn, call) for call in calls]
                messages.append(Message("user", results))
            return self._finish("stopped", "max_turns", final_text, messages)
        except TuttiError as exc:
            if self.cancel.is_set():  # e.g. cancelled while waiting out a provider's Retry-After
                return self._finish("stopped", "cancelled", final_text, messages)
            return self._finish("failed", "error", final_text, messages, error=exc.to_dict())
        except Exception as exc:
            # A bug, not a user error: close the run's record, then let it surface.
            self._finish(
                "failed",
                "error",
                final_text,
                messages,
                error={"category": "internal", "message": f"{type(exc).__name__}: {exc}"},
            )
            raise

    def _call_tool(self, turn: int, call: Any) -> ToolResultBlock:
        rec = self.recorder
        if self.cancel.is_set():
            outcome, denied = ToolOutcome("ERROR: run cancelled before this tool call", is_error=True), True
        else:
            decision = self.gate.check(
                call, spent_usd=rec.totals.cost_usd, next_call_usd=rec.totals.last_call_usd
            )
            rec.policy_decision(turn, decision)
            denied = not decision.allowed
            outcome = (
                ToolOutcome(decision.denial_text, is_error=True)
                if denied
                else self.toolbox.execute(call.name, call.input)
            )
        rec.tool_call(turn, call, outcome, denied=denied)
        if self.on_tool:
            self.on_tool(call.name, call.input, outcome, denied)
        return ToolResultBlock(call.id, outcome.content, outcome.is_error)

    def _finish(
        self, status: str, stop: str, text: str, messages: list[Message], error: dict[str, Any] | None = None
    ) -> LoopResult:
        result = LoopResult(self.recorder.run_id, status, stop, text, self.recorder.totals, messages, error)
        if self._finalize:
            self.finish(result)
        return result

    def finish(self, result: LoopResult) -> None:
        self.recorder.finished(
            result.status, result.stop_reason, final_text=result.final_text, error=result.error
        )
