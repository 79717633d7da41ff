"""The script a ScriptedModelServer plays: turns of text and/or tool calls, usage, failures.

JSON or TOML, e.g.::

    [[turn]]
    text = "Reading the file first."
    tool_calls = [{ name = "read_file", arguments = { path = "calc.py" } }]
    usage = { input_tokens = 120, output_tokens = 30, cached_tokens = 0 }

    [[turn]]
    fail = { status = 429, retry_after = "1", times = 1 }   # fail once, then play the turn
    text = "All done."

    [[turn]]
    match = "deploy"     # out of order: answers the first prompt matching this regex, once
    text = "Deploying."

`usage.input_tokens` counts *uncached* prompt tokens and `cached_tokens` the cache hits; each
wire format re-expresses them its own way (OpenAI and Gemini include cached tokens in the prompt
count, Anthropic reports them apart). When the turns run out, `fallback` is played forever
(default: a short final answer with no tool calls), so a rehearsal never wedges.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# hang: no answer at all; stall: a stream that starts and goes silent (a hung stream);
# malformed: a stream with a cut JSON frame and no closing event; context: the input is longer
# than the model's context window (a 400, or `response.failed` in an OpenAI Responses stream).
FAIL_KINDS = (
    "auth",
    "rate_limit",
    "quota",
    "server_error",
    "unavailable",
    "overloaded",
    "hang",
    "stall",
    "malformed",
    "context",
)
_STATUS_KIND = {
    401: "auth",
    403: "auth",
    429: "rate_limit",
    500: "server_error",
    502: "unavailable",
    503: "unavailable",
    529: "overloaded",
}


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str | None = None


@dataclass
class Failure:
    """How a request fails. `times` requests fail before the turn is played (0 = forever).

    `from_turn` (a runtime mode only): requests for script turn N or later fail, earlier turns
    play normally — "fail on a later turn, after a successful one". The fallback counts as the
    turn after the last; side requests (`tool_requests_only`) never reach a turn and never fail.
    """

    kind: str = "rate_limit"
    status: int | None = None
    retry_after: str | None = None
    times: int = 1
    message: str | None = None
    hang_secs: float = 600.0
    from_turn: int | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any] | str | int) -> Failure:
        if isinstance(raw, (str, int)):
            raw = {"kind": str(raw)}
        raw = dict(raw)
        kind = str(raw.pop("kind", raw.pop("mode", "")) or "")
        status = raw.pop("status", None)
        if kind.isdigit():
            status, kind = int(kind), ""
        if not kind:
            kind = _STATUS_KIND.get(int(status or 429), "server_error")
        if kind not in FAIL_KINDS:
            raise ValueError(
                f"unknown failure kind '{kind}' (use one of {', '.join(FAIL_KINDS)} or an HTTP status)"
            )
        retry_after = raw.pop("retry_after", None)
        return cls(
            kind=kind,
            status=int(status) if status else None,
            retry_after=None if retry_after is None else str(retry_after),
            times=int(raw.pop("times", 1)),
            message=raw.pop("message", None),
            hang_secs=float(raw.pop("hang_secs", 600.0)),
            from_turn=None if raw.get("from_turn") is None else int(raw.pop("from_turn")),
        )

    def http_status(self) -> int:
        if self.status:
            return self.status
        return {
            "auth": 401,
            "rate_limit": 429,
            "quota": 429,
            "server_error": 500,
            "unavailable": 503,
            "overloaded": 529,
            "hang": 200,
            "stall": 200,
            "malformed": 200,
            "context": 400,
        }[self.kind]


@dataclass
class Turn:
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: dict[str, int] | None = None
    fail: Failure | None = None
    delay_ms: int = 0
    # A regex: this turn answers (out of order) the first request whose latest user prompt
    # matches it. Turns without `match` play in order.
    match: str | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Turn:
        calls = raw.get("tool_calls", raw.get("tool_call", [])) or []
        return cls(
            text=str(raw.get("text", "")),
            tool_calls=[
                ToolCall(
                    name=c["name"],
                    arguments=dict(c.get("arguments", c.get("input", {})) or {}),
                    id=c.get("id"),
                )
                for c in calls
            ],
            usage=dict(raw["usage"]) if raw.get("usage") else None,
            fail=Failure.parse(raw["fail"]) if raw.get("fail") else None,
            delay_ms=int(raw.get("delay_ms", 0)),
            match=str(raw["match"]) if raw.get("match") else None,
        )


@dataclass
class Script:
    turns: list[Turn] = field(default_factory=list)
    fallback: Turn = field(default_factory=lambda: Turn(text="Done."))
    # Only requests that offer tools consume turns; others (titles, summaries some CLIs ask
    # for on the side) get the fallback. Off by default: every model request is a turn.
    tool_requests_only: bool = False

    @classmethod
    def parse(cls, raw: dict[str, Any] | list[Any]) -> Script:
        if isinstance(raw, list):
            raw = {"turns": raw}
        turns = raw.get("turns", raw.get("turn", [])) or []
        script = cls(
            turns=[Turn.parse(t) for t in turns],
            tool_requests_only=bool(raw.get("tool_requests_only", False)),
        )
        if raw.get("fallback"):
            script.fallback = Turn.parse(raw["fallback"])
        return script

    @classmethod
    def load(cls, path: Path) -> Script:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        return cls.parse(data)
