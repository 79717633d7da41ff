"""Google Gemini `streamGenerateContent` (SSE) with function calling. Kind `gemini`.

Gemini function calls carry no id; we give each one an id (`gemini_call_{n}`) so the neutral
ToolUse/ToolResult pairing works, and send results back as `functionResponse` parts named after
the call they answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tutti.direct.messages import (
    Message,
    StreamDelta,
    TextBlock,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    Usage,
)
from tutti.direct.providers.base import Provider, iter_json_events, usage_net_of_cached

_FINISH = {"STOP": "end_turn", "MAX_TOKENS": "max_tokens"}


def _schema(schema: Any) -> Any:
    """Gemini accepts an OpenAPI subset: drop keys it rejects (additionalProperties…)."""
    if isinstance(schema, dict):
        return {k: _schema(v) for k, v in schema.items() if k not in ("additionalProperties", "$schema")}
    if isinstance(schema, list):
        return [_schema(v) for v in schema]
    return schema


def to_gemini_contents(messages: list[Message]) -> list[dict]:
    names: dict[str, str] = {}
    contents: list[dict] = []
    for m in messages:
        parts: list[dict] = []
        for b in m.content:
            if isinstance(b, TextBlock):
                parts.append({"text": b.text})
            elif isinstance(b, ToolUseBlock):
                names[b.id] = b.name
                parts.append({"functionCall": {"name": b.name, "args": b.input}})
            elif isinstance(b, ToolResultBlock):
                key = "error" if b.is_error else "output"
                parts.append(
                    {
                        "functionResponse": {
                            "name": names.get(b.tool_use_id, "tool"),
                            "response": {key: b.content},
                        }
                    }
                )
        contents.append({"role": "model" if m.role == "assistant" else "user", "parts": parts})
    return contents


def usage_from_gemini(u: dict) -> Usage:
    # promptTokenCount includes the cached tokens; thinking tokens are billed as output.
    return usage_net_of_cached(
        u.get("promptTokenCount"),
        int(u.get("candidatesTokenCount") or 0) + int(u.get("thoughtsTokenCount") or 0),
        u.get("cachedContentTokenCount"),
    )


class GeminiProvider(Provider):
    kind = "gemini"

    def _request(
        self, messages: list[Message], tools: list[ToolSpec], system: str | None
    ) -> tuple[str, dict, dict]:
        s = self.settings
        body: dict = {"contents": to_gemini_contents(messages)}
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        if tools:
            body["tools"] = [
                {
                    "functionDeclarations": [
                        {"name": t.name, "description": t.description, "parameters": _schema(t.parameters)}
                        for t in tools
                    ]
                }
            ]
        if s.max_tokens:
            body["generationConfig"] = {"maxOutputTokens": s.max_tokens}
        headers = self._sse_headers("x-goog-api-key")
        base = s.base_url.rstrip("/")
        if not base.endswith(("/v1beta", "/v1")):
            base += "/v1beta"
        return f"{base}/models/{s.model}:streamGenerateContent?alt=sse", headers, body

    def _parse_stream(self, events: Iterator[tuple[str | None, str]]) -> Iterator[StreamDelta]:
        calls = 0
        finish = None
        for _event, chunk in iter_json_events(events):
            if chunk.get("error"):
                raise self._mid_stream_error(chunk["error"])
            for candidate in (chunk.get("candidates") or [])[:1]:
                for part in (candidate.get("content") or {}).get("parts") or []:
                    if part.get("thought"):
                        continue  # thinking summaries are not the answer
                    if part.get("text"):
                        yield StreamDelta("text", text=part["text"])
                    elif part.get("functionCall"):
                        call = part["functionCall"]
                        yield StreamDelta(
                            "tool_start",
                            index=calls,
                            tool_id=call.get("id") or f"gemini_call_{calls}",
                            tool_name=call.get("name") or "",
                        )
                        yield StreamDelta("tool_args", index=calls, text=json.dumps(call.get("args") or {}))
                        calls += 1
                finish = candidate.get("finishReason") or finish
            if chunk.get("usageMetadata"):
                yield StreamDelta("usage", usage=usage_from_gemini(chunk["usageMetadata"]))
        if finish:
            yield StreamDelta("stop", stop_reason="tool_use" if calls else _FINISH.get(finish, "other"))
