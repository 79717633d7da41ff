"""How an API-direct run is written to the workspace store.

Every model call, tool call, policy decision, retry and failover is one event with the run id,
and the `runs` row carries running totals (tokens, cost) updated in the same transaction as the
model-call event. Payloads keep a compact transcript (model text, tool arguments and results,
truncated) so `tt replay` can re-render a run from the store alone. No payload ever holds an
API key: providers never hand the key out, and `redact` scrubs anything that might echo it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from tutti.direct.messages import ModelResponse, ToolUseBlock, Usage
from tutti.direct.policy import Decision
from tutti.direct.tools import ToolOutcome
from tutti.store.db import Store, now_iso

TEXT_LIMIT = 4000
RESULT_LIMIT = 2000
ARG_LIMIT = 600


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"… [+{len(text) - limit} chars]"


def summarize_args(tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """Arguments small enough for an event: long strings are clipped, file contents measured."""
    out: dict[str, Any] = {}
    for key, value in args.items():
        if tool == "write_file" and key == "content" and isinstance(value, str):
            out[key] = clip(value, 300)
            out["content_bytes"] = len(value.encode())
        elif isinstance(value, str):
            out[key] = clip(value, ARG_LIMIT)
        else:
            text = json.dumps(value, default=str)
            out[key] = value if len(text) <= ARG_LIMIT else clip(text, ARG_LIMIT)
    return out


@dataclass
class RunTotals:
    turns: int = 0
    model_calls: int = 0
    tool_calls: int = 0
    denied_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    last_call_usd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["cost_usd"] = round(self.cost_usd, 6)
        data.pop("last_call_usd")
        return data


@dataclass
class RunRecorder:
    """Writes one direct run (or one direct step of a workflow run) to the store."""

    store: Store
    run_id: str
    agent: str | None = None
    step: str | None = None
    # True: this recorder owns the `runs` row (kind 'direct'); False: a workflow engine owns
    # it and we only add our tokens and cost to its totals.
    own_run: bool = True
    secrets: list[str] = field(default_factory=list)
    totals: RunTotals = field(default_factory=RunTotals)

    def _scrub(self, data: dict[str, Any]) -> dict[str, Any]:
        if not any(self.secrets):
            return data
        text = json.dumps(data, default=str)
        for secret in self.secrets:
            if secret and len(secret) >= 4 and secret in text:
                text = text.replace(secret, "[REDACTED]")
        return json.loads(text)

    def event(self, kind: str, data: dict[str, Any], conn: Any = None) -> None:
        self.store.append_event(
            kind, agent=self.agent, run_id=self.run_id, step=self.step, data=self._scrub(data), conn=conn
        )

    def started(self, data: dict[str, Any]) -> None:
        with self.store.transaction() as conn:
            if self.own_run:
                conn.execute(
                    "INSERT OR IGNORE INTO runs "
                    "(run_id, kind, workflow, origin, status, agent_scope, started_at, params) "
                    "VALUES (?, 'direct', NULL, ?, 'running', ?, ?, ?)",
                    (
                        self.run_id,
                        data.get("origin", "direct"),
                        self.agent,
                        now_iso(),
                        json.dumps(
                            self._scrub(
                                {
                                    "pid": os.getpid(),
                                    "pid_started": _start_ticks(),
                                    **{k: data.get(k) for k in ("provider", "model", "profile", "prompt")},
                                }
                            )
                        ),
                    ),
                )
            self.event("direct.run.started", data, conn)

    def provider_event(self, kind: str, data: dict[str, Any]) -> None:
        self.event(kind, data)

    def model_call(self, turn: int, response: ModelResponse, cost: float, priced: bool) -> None:
        u: Usage = response.usage
        t = self.totals
        t.turns, t.model_calls = turn, t.model_calls + 1
        t.input_tokens += u.input_tokens
        t.output_tokens += u.output_tokens
        t.cached_tokens += u.cached_tokens
        t.cost_usd += cost
        t.last_call_usd = cost
        data = {
            "turn": turn,
            "provider": response.provider,
            "profile": response.profile,
            "model": response.model,
            "input_tokens": u.input_tokens,
            "output_tokens": u.output_tokens,
            "cached_tokens": u.cached_tokens,
            "cache_write_tokens": u.cache_write_tokens,
            "cost_usd": round(cost, 8),
            "priced": priced,
            "latency_ms": round(response.latency_ms, 1),
            "attempts": response.attempts,
            "stop_reason": response.stop_reason,
            "text": clip(response.message.text, TEXT_LIMIT),
            "tool_calls": [
                {"id": c.id, "name": c.name, "args": summarize_args(c.name, c.input)}
                for c in response.message.tool_uses
            ],
            "run_cost_usd": round(t.cost_usd, 8),
        }
        with self.store.transaction() as conn:
            # Totals move with the event: a reader never sees one without the other.
            conn.execute(
                "UPDATE runs SET cost_usd = cost_usd + ?, input_tokens = input_tokens + ?, "
                "output_tokens = output_tokens + ? WHERE run_id = ?",
                (cost, u.input_tokens + u.cached_tokens, u.output_tokens, self.run_id),
            )
            self.event("direct.model_call", data, conn)

    def policy_decision(self, turn: int, decision: Decision) -> None:
        if not decision.allowed:
            self.totals.denied_calls += 1
        self.event("direct.policy_decision", {"turn": turn, **decision.to_dict()})

    def tool_call(self, turn: int, call: ToolUseBlock, outcome: ToolOutcome, *, denied: bool) -> None:
        self.totals.tool_calls += 1
        self.event(
            "direct.tool_call",
            {
                "turn": turn,
                "call_id": call.id,
                "tool": call.name,
                "args": summarize_args(call.name, call.input),
                "result": clip(outcome.content, RESULT_LIMIT),
                "is_error": outcome.is_error,
                "denied": denied,
                "duration_ms": round(outcome.duration_ms, 1),
                "files_changed": outcome.files_changed,
            },
        )

    def finished(
        self, status: str, stop_reason: str, *, final_text: str = "", error: dict | None = None
    ) -> None:
        kind = "direct.run.failed" if status == "failed" else "direct.run.completed"
        data = {
            "status": status,
            "stop_reason": stop_reason,
            "final_text": clip(final_text, TEXT_LIMIT),
            "totals": self.totals.to_dict(),
            "error": error,
        }
        # The runs table speaks the engine's vocabulary (succeeded|failed|cancelled); the loop's
        # finer stop reason stays in `result` and the event.
        row_status = {"completed": "succeeded", "failed": "failed"}.get(
            status, "cancelled" if stop_reason == "cancelled" else "failed"
        )
        with self.store.transaction() as conn:
            if self.own_run:
                conn.execute(
                    "UPDATE runs SET status = ?, finished_at = ?, result = ? WHERE run_id = ?",
                    (row_status, now_iso(), json.dumps(self._scrub(data)), self.run_id),
                )
            self.event(kind, data, conn)


def _start_ticks() -> int | None:
    """This process's start time, so `tt runs` can tell a live run from an interrupted one."""
    from tutti.proctree import start_ticks

    return start_ticks(os.getpid())
