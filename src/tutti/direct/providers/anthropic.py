"""Anthropic Messages API with tool_use and streaming events."""

from __future__ import annotations

import json
from collections.abc import Iterator

from tutti.direct.messages import (
    Message,
    StreamDelta,
    TextBlock,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    Usage,
)
from tutti.direct.providers.base import Provider, iter_json_events

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096


def to_anthropic_messages(messages: list[Message]) -> list[dict]:
    out = []
    for m in messages:
        blocks = []
        for b in m.content:
            if isinstance(b, TextBlock):
                blocks.append({"type": "text", "text": b.text})
            elif isinstance(b, ToolUseBlock):
                blocks.append({"type": "tool_use", "id": b.id, "name": b.name, "input": b.input})
            elif isinstance(b, ToolResultBlock):
                blocks.append(
                    {
                        "type": "tool_result",
                        "tool_use_id": b.tool_use_id,
                        "content": b.content,
                        "is_error": b.is_error,
                    }
                )
        out.append({"role": m.role, "content": blocks})
    return out


def usage_from_anthropic(u: dict) -> Usage:
    return Usage(
        input_tokens=int(u.get("input_tokens") or 0),
        output_tokens=int(u.get("output_tokens") or 0),
        cached_tokens=int(u.get("cache_read_input_tokens") or 0),
        cache_write_tokens=int(u.get("cache_creation_input_tokens") or 0),
    )


class AnthropicProvider(Provider):
    kind = "anthropic"

    def _request(
        self, messages: list[Message], tools: list[ToolSpec], system: str | None
    ) -> tuple[str, dict, dict]:
        s = self.settings
        body: dict = {
            "model": s.model,
            "max_tokens": s.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": to_anthropic_messages(messages),
            "stream": True,
        }
        if system:
            body["system"] = system
        if tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools
            ]
        headers = self._sse_headers("x-api-key", extra={"anthropic-version": API_VERSION})
        base = s.base_url.rstrip("/")
        url = base + ("/messages" if base.endswith("/v1") else "/v1/messages")
        return url, headers, body

    def _parse_stream(self, events: Iterator[tuple[str | None, str]]) -> Iterator[StreamDelta]:
        usage = Usage()
        for event, payload in iter_json_events(events):
            kind = payload.get("type") or event
            if kind == "message_start":
                usage = usage_from_anthropic((payload.get("message") or {}).get("usage") or {})
                yield StreamDelta("usage", usage=usage)
            elif kind == "content_block_start":
                block = payload.get("content_block") or {}
                index = int(payload.get("index") or 0)
                if block.get("type") == "tool_use":
                    yield StreamDelta(
                        "tool_start",
                        index=index,
                        tool_id=block.get("id") or "",
                        tool_name=block.get("name") or "",
                    )
                    if block.get("input"):
                        yield StreamDelta("tool_args", index=index, text=json.dumps(block["input"]))
                elif block.get("type") == "text" and block.get("text"):
                    yield StreamDelta("text", text=block["text"])
            elif kind == "content_block_delta":
                delta = payload.get("delta") or {}
                index = int(payload.get("index") or 0)
                if delta.get("type") == "text_delta":
                    yield StreamDelta("text", text=delta.get("text") or "")
                elif delta.get("type") == "input_json_delta":
                    yield StreamDelta("tool_args", index=index, text=delta.get("partial_json") or "")
            elif kind == "message_delta":
                stop = (payload.get("delta") or {}).get("stop_reason")
                if stop:
                    yield StreamDelta(
                        "stop",
                        stop_reason=stop
                        if stop in ("end_turn", "tool_use", "max_tokens", "stop_sequence")
                        else "other",
                    )
                out = payload.get("usage") or {}
                if out:
                    merged = usage_from_anthropic(
                        {
                            "input_tokens": usage.input_tokens,
                            "cache_read_input_tokens": usage.cached_tokens,
                            "cache_creation_input_tokens": usage.cache_write_tokens,
                            **out,
                        }
                    )
                    yield StreamDelta("usage", usage=merged)
            elif kind == "message_stop":
                return
            elif kind == "error":
                err = payload.get("error") or {}
                overloaded = err.get("type") == "overloaded_error"
                raise self._mid_stream_error(
                    err.get("message") or err,
                    reason="unavailable" if overloaded else "bad_request",
                    failover=overloaded,
                )
