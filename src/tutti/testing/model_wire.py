"""How the scripted server says one Turn in each provider's wire format.

Each `*_response` returns the non-streaming JSON body; each `*_events` returns the streaming
body as a list of (event name or None, JSON payload) pairs, framed as SSE by the server.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from tutti.testing.model_script import Turn

Events = list[tuple[str | None, Any]]


def _chunks(text: str, size: int = 24) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or []


def _ids(turn: Turn, seq: int, prefix: str) -> list[str]:
    return [c.id or f"{prefix}{seq:03d}{i}{uuid.uuid4().hex[:6]}" for i, c in enumerate(turn.tool_calls)]


# -- OpenAI Chat Completions --------------------------------------------------------------------
def _openai_usage(u: dict[str, int]) -> dict[str, Any]:
    prompt = u["input_tokens"] + u["cached_tokens"]
    return {
        "prompt_tokens": prompt,
        "completion_tokens": u["output_tokens"],
        "total_tokens": prompt + u["output_tokens"],
        "prompt_tokens_details": {"cached_tokens": u["cached_tokens"]},
    }


def chat_response(turn: Turn, model: str, usage: dict[str, int], seq: int) -> dict[str, Any]:
    ids = _ids(turn, seq, "call_")
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
    if turn.tool_calls:
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for i, c in zip(ids, turn.tool_calls)
        ]
    return {
        "id": f"chatcmpl-{seq}",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if turn.tool_calls else "stop"}
        ],
        "usage": _openai_usage(usage),
    }


def chat_events(turn: Turn, model: str, usage: dict[str, int], seq: int, include_usage: bool) -> Events:
    ids = _ids(turn, seq, "call_")
    base = {"id": f"chatcmpl-{seq}", "object": "chat.completion.chunk", "created": 0, "model": model}

    def chunk(delta: dict, finish: str | None = None) -> tuple[None, dict]:
        return None, {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    events: Events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": part}) for part in _chunks(turn.text)]
    for index, (call_id, call) in enumerate(zip(ids, turn.tool_calls)):
        events.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call_id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": ""},
                        }
                    ]
                }
            )
        )
        for part in _chunks(json.dumps(call.arguments), 16):
            events.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]}))
    events.append(chunk({}, "tool_calls" if turn.tool_calls else "stop"))
    if include_usage:
        events.append((None, {**base, "choices": [], "usage": _openai_usage(usage)}))
    events.append((None, "[DONE]"))
    return events


# -- OpenAI Responses API -----------------------------------------------------------------------
def _responses_usage(u: dict[str, int]) -> dict[str, Any]:
    prompt = u["input_tokens"] + u["cached_tokens"]
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": u["cached_tokens"]},
        "output_tokens": u["output_tokens"],
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + u["output_tokens"],
    }


def _responses_items(turn: Turn, seq: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if turn.text:
        items.append(
            {
                "id": f"msg_{seq}",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": turn.text, "annotations": []}],
            }
        )
    for call_id, call in zip(_ids(turn, seq, "call_"), turn.tool_calls):
        items.append(
            {
                "id": f"fc_{call_id}",
                "type": "function_call",
                "status": "completed",
                "call_id": call_id,
                "name": call.name,
                "arguments": json.dumps(call.arguments),
            }
        )
    return items


def responses_response(turn: Turn, model: str, usage: dict[str, int], seq: int) -> dict[str, Any]:
    return {
        "id": f"resp_{seq}",
        "object": "response",
        "created_at": 0,
        "status": "completed",
        "model": model,
        "output": _responses_items(turn, seq),
        "usage": _responses_usage(usage),
    }


def responses_events(turn: Turn, model: str, usage: dict[str, int], seq: int) -> Events:
    items = _responses_items(turn, seq)
    shell = {"id": f"resp_{seq}", "object": "response", "created_at": 0, "model": model, "output": []}
    events: Events = []

    def emit(kind: str, **payload: Any) -> None:
        events.append((kind, {"type": kind, "sequence_number": len(events), **payload}))

    emit("response.created", response={**shell, "status": "in_progress"})
    emit("response.in_progress", response={**shell, "status": "in_progress"})
    for index, item in enumerate(items):
        if item["type"] == "message":
            _emit_message_item(emit, index, item)
        else:
            _emit_call_item(emit, index, item)
        emit("response.output_item.done", output_index=index, item=item)
    emit(
        "response.completed",
        response={**shell, "status": "completed", "output": items, "usage": _responses_usage(usage)},
    )
    return events


def _emit_message_item(emit: Any, index: int, item: dict[str, Any]) -> None:
    text = item["content"][0]["text"]
    at = {"item_id": item["id"], "output_index": index, "content_index": 0}
    emit(
        "response.output_item.added",
        output_index=index,
        item={**item, "status": "in_progress", "content": []},
    )
    part = {"type": "output_text", "text": "", "annotations": []}
    emit("response.content_part.added", **at, part=part)
    for piece in _chunks(text):
        emit("response.output_text.delta", **at, delta=piece)
    emit("response.output_text.done", **at, text=text)
    emit("response.content_part.done", **at, part={**part, "text": text})


def _emit_call_item(emit: Any, index: int, item: dict[str, Any]) -> None:
    emit(
        "response.output_item.added",
        output_index=index,
        item={**item, "status": "in_progress", "arguments": ""},
    )
    for piece in _chunks(item["arguments"], 16):
        emit("response.function_call_arguments.delta", item_id=item["id"], output_index=index, delta=piece)
    emit(
        "response.function_call_arguments.done",
        item_id=item["id"],
        output_index=index,
        arguments=item["arguments"],
    )


# -- Anthropic Messages -------------------------------------------------------------------------
def _anthropic_usage(u: dict[str, int]) -> dict[str, Any]:
    return {
        "input_tokens": u["input_tokens"],
        "output_tokens": u["output_tokens"],
        "cache_read_input_tokens": u["cached_tokens"],
        "cache_creation_input_tokens": 0,
    }


def _anthropic_blocks(turn: Turn, seq: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": turn.text}] if turn.text else []
    for call_id, call in zip(_ids(turn, seq, "toolu_"), turn.tool_calls):
        blocks.append({"type": "tool_use", "id": call_id, "name": call.name, "input": call.arguments})
    return blocks


def messages_response(turn: Turn, model: str, usage: dict[str, int], seq: int) -> dict[str, Any]:
    return {
        "id": f"msg_{seq:04d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _anthropic_blocks(turn, seq),
        "stop_reason": "tool_use" if turn.tool_calls else "end_turn",
        "stop_sequence": None,
        "usage": _anthropic_usage(usage),
    }


def messages_events(turn: Turn, model: str, usage: dict[str, int], seq: int) -> Events:
    start = {
        "id": f"msg_{seq:04d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**_anthropic_usage(usage), "output_tokens": 1},
    }
    events: Events = [
        ("message_start", {"type": "message_start", "message": start}),
        ("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(_anthropic_blocks(turn, seq)):
        events += _block_events(index, block)
    delta = {"stop_reason": "tool_use" if turn.tool_calls else "end_turn", "stop_sequence": None}
    events.append(
        (
            "message_delta",
            {"type": "message_delta", "delta": delta, "usage": {"output_tokens": usage["output_tokens"]}},
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _block_events(index: int, block: dict[str, Any]) -> Events:
    """content_block_start, its deltas (text or tool input JSON) and content_block_stop."""
    if block["type"] == "text":
        opening: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in _chunks(block["text"])]
    else:
        opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        deltas = [
            {"type": "input_json_delta", "partial_json": piece}
            for piece in _chunks(json.dumps(block["input"]), 16)
        ]
    events: Events = [
        ("content_block_start", {"type": "content_block_start", "index": index, "content_block": opening})
    ]
    events += [
        ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas
    ]
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


# -- Gemini generateContent ---------------------------------------------------------------------
def gemini_response(turn: Turn, model: str, usage: dict[str, int], seq: int) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"text": turn.text}] if turn.text else []
    parts += [{"functionCall": {"name": c.name, "args": c.arguments}} for c in turn.tool_calls]
    prompt = usage["input_tokens"] + usage["cached_tokens"]
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {
            "promptTokenCount": prompt,
            "candidatesTokenCount": usage["output_tokens"],
            "totalTokenCount": prompt + usage["output_tokens"],
            "cachedContentTokenCount": usage["cached_tokens"],
        },
        "modelVersion": model,
        "responseId": f"resp-{seq}",
    }


def gemini_events(turn: Turn, model: str, usage: dict[str, int], seq: int) -> Events:
    full = gemini_response(turn, model, usage, seq)
    events: Events = []
    pieces = _chunks(turn.text)
    for piece in pieces[:-1]:
        events.append(
            (
                None,
                {
                    "candidates": [{"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}],
                    "modelVersion": model,
                    "responseId": f"resp-{seq}",
                },
            )
        )
    last_parts = ([{"text": pieces[-1]}] if pieces else []) + [
        {"functionCall": {"name": c.name, "args": c.arguments}} for c in turn.tool_calls
    ]
    events.append(
        (
            None,
            {
                **full,
                "candidates": [
                    {"content": {"role": "model", "parts": last_parts}, "finishReason": "STOP", "index": 0}
                ],
            },
        )
    )
    return events


# -- structured output --------------------------------------------------------------------------
def wanted_json_schema(protocol: str, body: Any) -> dict[str, Any] | None:
    """The JSON schema a request asks its answer to follow (None: free text). CLIs ask for JSON
    in side requests (Gemini CLI's model router, titles, classifiers)."""
    if not isinstance(body, dict):
        return None
    if protocol == "gemini":
        cfg = body.get("generationConfig") or {}
        if cfg.get("responseMimeType") == "application/json":
            return cfg.get("responseJsonSchema") or cfg.get("responseSchema") or {}
    elif protocol == "openai_chat":
        fmt = body.get("response_format") or {}
        if fmt.get("type") in ("json_object", "json_schema"):
            return (fmt.get("json_schema") or {}).get("schema") or {}
    elif protocol == "openai_responses":
        fmt = (body.get("text") or {}).get("format") or {}
        if fmt.get("type") in ("json_object", "json_schema"):
            return fmt.get("schema") or {}
    return None


def json_example(schema: dict[str, Any]) -> Any:
    """A minimal value that satisfies a (Gemini- or JSON-) schema: enough for a CLI's parser."""
    if schema.get("enum"):
        return schema["enum"][0]
    kind = str(schema.get("type") or ("object" if "properties" in schema else "string")).lower()
    if kind == "object":
        return {name: json_example(sub) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    return "scripted"


def last_user_text(protocol: str, body: Any) -> str:
    """The text of the request's latest user message ('' when it carries only tool results)."""
    if not isinstance(body, dict):
        return ""
    if protocol == "gemini":
        items = [c for c in body.get("contents") or [] if c.get("role", "user") == "user"]
        parts = (items[-1].get("parts") or []) if items else []
        return "\n".join(p.get("text", "") for p in parts if isinstance(p, dict))
    if protocol == "openai_responses":
        raw = body.get("input")
        if isinstance(raw, str):
            return raw
        items = [i for i in raw or [] if isinstance(i, dict) and i.get("role") == "user"]
        if not items or (raw and raw[-1] is not items[-1]):
            return ""  # the latest input is a tool output, not a prompt
        content = items[-1].get("content")
        if isinstance(content, str):
            return content
        return "\n".join(c.get("text", "") for c in content or [] if isinstance(c, dict))
    messages = body.get("messages") or []
    if not messages or messages[-1].get("role") != "user":
        return ""
    content = messages[-1].get("content")
    if isinstance(content, str):
        return content
    return "\n".join(
        c.get("text", "") for c in content or [] if isinstance(c, dict) and c.get("type") == "text"
    )
