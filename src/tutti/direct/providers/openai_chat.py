"""OpenAI Chat Completions with tool calls and streaming — also Ollama, llama.cpp, vLLM,
LM Studio and any other server speaking the same protocol at a configurable base URL."""

from __future__ import annotations

import json
from collections.abc import Iterator

from tutti.direct.messages import (
    Message,
    StreamDelta,
    TextBlock,
    ToolResultBlock,
    ToolSpec,
    Usage,
)
from tutti.direct.providers.base import Provider, iter_json_events, usage_net_of_cached

_FINISH = {"stop": "end_turn", "tool_calls": "tool_use", "function_call": "tool_use", "length": "max_tokens"}


def to_openai_messages(messages: list[Message], system: str | None) -> list[dict]:
    out: list[dict] = [{"role": "system", "content": system}] if system else []
    for m in messages:
        if m.role == "assistant":
            entry: dict = {"role": "assistant", "content": m.text or None}
            calls = [
                {
                    "id": b.id,
                    "type": "function",
                    "function": {"name": b.name, "arguments": json.dumps(b.input)},
                }
                for b in m.tool_uses
            ]
            if calls:
                entry["tool_calls"] = calls
            out.append(entry)
            continue
        texts = [b.text for b in m.content if isinstance(b, TextBlock)]
        for b in m.content:
            if isinstance(b, ToolResultBlock):
                out.append({"role": "tool", "tool_call_id": b.tool_use_id, "content": b.content})
        if texts:
            out.append({"role": "user", "content": "\n".join(texts)})
    return out


def usage_from_openai(u: dict) -> Usage:
    # prompt_tokens includes cached tokens.
    return usage_net_of_cached(
        u.get("prompt_tokens"),
        u.get("completion_tokens"),
        (u.get("prompt_tokens_details") or {}).get("cached_tokens"),
    )


class OpenAIChatProvider(Provider):
    kind = "openai"

    def _request(
        self, messages: list[Message], tools: list[ToolSpec], system: str | None
    ) -> tuple[str, dict, dict]:
        s = self.settings
        body: dict = {
            "model": s.model,
            "messages": to_openai_messages(messages, system),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                }
                for t in tools
            ]
        if s.max_tokens:
            body["max_tokens"] = s.max_tokens
        headers = self._sse_headers("authorization", "Bearer ")
        return s.base_url.rstrip("/") + "/chat/completions", headers, body

    def _parse_stream(self, events: Iterator[tuple[str | None, str]]) -> Iterator[StreamDelta]:
        for _event, chunk in iter_json_events(events, end="[DONE]"):
            if chunk.get("error"):
                raise self._mid_stream_error(chunk["error"])
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    yield StreamDelta("text", text=delta["content"])
                for call in delta.get("tool_calls") or []:
                    index = int(call.get("index") or 0)
                    fn = call.get("function") or {}
                    if call.get("id") or fn.get("name"):
                        yield StreamDelta(
                            "tool_start",
                            index=index,
                            tool_id=call.get("id") or "",
                            tool_name=fn.get("name") or "",
                        )
                    if fn.get("arguments"):
                        yield StreamDelta("tool_args", index=index, text=fn["arguments"])
                if choice.get("finish_reason"):
                    yield StreamDelta("stop", stop_reason=_FINISH.get(choice["finish_reason"], "other"))
            if chunk.get("usage"):
                yield StreamDelta("usage", usage=usage_from_openai(chunk["usage"]))
