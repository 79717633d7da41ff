"""OpenAI Responses API (`/v1/responses`) with function calls and streaming events — the
protocol newer OpenAI models (and Codex) use. Kind `openai-responses`."""

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
from tutti.direct.providers.base import Provider, iter_json_events, usage_net_of_cached


def to_responses_input(messages: list[Message]) -> list[dict]:
    items: list[dict] = []
    for m in messages:
        for b in m.content:
            if isinstance(b, TextBlock):
                kind = "output_text" if m.role == "assistant" else "input_text"
                items.append({"role": m.role, "content": [{"type": kind, "text": b.text}]})
            elif isinstance(b, ToolUseBlock):
                items.append(
                    {
                        "type": "function_call",
                        "call_id": b.id,
                        "name": b.name,
                        "arguments": json.dumps(b.input),
                    }
                )
            elif isinstance(b, ToolResultBlock):
                items.append({"type": "function_call_output", "call_id": b.tool_use_id, "output": b.content})
    return items


def usage_from_responses(u: dict) -> Usage:
    # input_tokens includes the cached ones, as in Chat Completions.
    return usage_net_of_cached(
        u.get("input_tokens"),
        u.get("output_tokens"),
        (u.get("input_tokens_details") or {}).get("cached_tokens"),
    )


class OpenAIResponsesProvider(Provider):
    kind = "openai-responses"

    def _request(
        self, messages: list[Message], tools: list[ToolSpec], system: str | None
    ) -> tuple[str, dict, dict]:
        s = self.settings
        body: dict = {"model": s.model, "input": to_responses_input(messages), "stream": True, "store": False}
        if system:
            body["instructions"] = system
        if tools:
            body["tools"] = [
                {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters}
                for t in tools
            ]
        if s.max_tokens:
            body["max_output_tokens"] = s.max_tokens
        headers = self._sse_headers("authorization", "Bearer ")
        return s.base_url.rstrip("/") + "/responses", headers, body

    def _parse_stream(self, events: Iterator[tuple[str | None, str]]) -> Iterator[StreamDelta]:
        with_args: set[int] = set()
        calls = 0
        for event, payload in iter_json_events(events):
            kind = payload.get("type") or event
            index = int(payload.get("output_index") or 0)
            if kind == "response.output_text.delta":
                yield StreamDelta("text", text=payload.get("delta") or "")
            elif (
                kind == "response.output_item.added"
                and (payload.get("item") or {}).get("type") == "function_call"
            ):
                item = payload["item"]
                calls += 1
                yield StreamDelta(
                    "tool_start",
                    index=index,
                    tool_id=item.get("call_id") or item.get("id") or "",
                    tool_name=item.get("name") or "",
                )
            elif kind == "response.function_call_arguments.delta":
                with_args.add(index)
                yield StreamDelta("tool_args", index=index, text=payload.get("delta") or "")
            elif (
                kind == "response.output_item.done"
                and (payload.get("item") or {}).get("type") == "function_call"
            ):
                if index not in with_args and payload["item"].get("arguments"):
                    # Some servers send the arguments only with the finished item.
                    yield StreamDelta("tool_args", index=index, text=payload["item"]["arguments"])
            elif kind in ("response.completed", "response.incomplete"):
                response = payload.get("response") or {}
                if response.get("usage"):
                    yield StreamDelta("usage", usage=usage_from_responses(response["usage"]))
                stop = (
                    "max_tokens" if kind == "response.incomplete" else ("tool_use" if calls else "end_turn")
                )
                yield StreamDelta("stop", stop_reason=stop)
                return
            elif kind in ("response.failed", "error"):
                err = (payload.get("response") or {}).get("error") or payload.get("error") or payload
                raise self._mid_stream_error(err)
