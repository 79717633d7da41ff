"""Provider-neutral conversation model: messages made of content blocks, and tool specs.

Providers translate these to and from their wire formats (OpenAI chat, Anthropic Messages);
the loop, the store payloads and `tt replay` only ever see these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant"]


@dataclass
class TextBlock:
    text: str
    type: Literal["text"] = "text"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "text", "text": self.text}


@dataclass
class ToolUseBlock:
    """The model asks for a tool call. `input` is the parsed JSON arguments."""

    id: str
    name: str
    input: dict[str, Any]
    type: Literal["tool_use"] = "tool_use"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "tool_use", "id": self.id, "name": self.name, "input": self.input}


@dataclass
class ToolResultBlock:
    """Our answer to one ToolUseBlock, sent back in the next user message."""

    tool_use_id: str
    content: str
    is_error: bool = False
    type: Literal["tool_result"] = "tool_result"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "tool_result",
            "tool_use_id": self.tool_use_id,
            "content": self.content,
            "is_error": self.is_error,
        }


Block = TextBlock | ToolUseBlock | ToolResultBlock


@dataclass
class Message:
    role: Role
    content: list[Block]

    @classmethod
    def user(cls, text: str) -> Message:
        return cls("user", [TextBlock(text)])

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    @property
    def tool_uses(self) -> list[ToolUseBlock]:
        return [b for b in self.content if isinstance(b, ToolUseBlock)]

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "content": [b.to_dict() for b in self.content]}


@dataclass
class ToolSpec:
    """A tool offered to the model: name, description and a JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    # Tokens served from the provider's prompt cache. For OpenAI these are *included* in
    # input_tokens; for Anthropic they are reported separately. Providers normalise so that
    # `input_tokens` never includes `cached_tokens` (no double counting, inventory §12.14).
    cached_tokens: int = 0
    cache_write_tokens: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "cache_write_tokens": self.cache_write_tokens,
        }


StopReason = Literal["end_turn", "tool_use", "max_tokens", "stop_sequence", "other"]


@dataclass
class ModelResponse:
    """One assembled model turn."""

    message: Message
    stop_reason: str
    usage: Usage
    model: str = ""
    provider: str = ""
    profile: str | None = None
    latency_ms: float = 0.0
    attempts: int = 1


@dataclass
class StreamDelta:
    """One streaming increment: text, a tool-call fragment, or the final usage/stop reason."""

    kind: Literal["text", "tool_start", "tool_args", "usage", "stop"]
    text: str = ""
    index: int = 0
    tool_id: str = ""
    tool_name: str = ""
    usage: Usage | None = None
    stop_reason: str | None = None


@dataclass
class StreamAssembler:
    """Turns a sequence of StreamDeltas into a ModelResponse (shared by every provider)."""

    text_parts: list[str] = field(default_factory=list)
    tools: dict[int, dict[str, Any]] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    stop_reason: str = "end_turn"

    def add(self, delta: StreamDelta) -> None:
        if delta.kind == "text":
            self.text_parts.append(delta.text)
        elif delta.kind == "tool_start":
            self.tools.setdefault(delta.index, {"id": delta.tool_id, "name": delta.tool_name, "args": []})
            slot = self.tools[delta.index]
            slot["id"] = slot["id"] or delta.tool_id
            slot["name"] = slot["name"] or delta.tool_name
        elif delta.kind == "tool_args":
            self.tools.setdefault(delta.index, {"id": "", "name": "", "args": []})["args"].append(delta.text)
        elif delta.kind == "usage" and delta.usage is not None:
            u = delta.usage
            self.usage = Usage(
                max(self.usage.input_tokens, u.input_tokens),
                max(self.usage.output_tokens, u.output_tokens),
                max(self.usage.cached_tokens, u.cached_tokens),
                max(self.usage.cache_write_tokens, u.cache_write_tokens),
            )
        elif delta.kind == "stop" and delta.stop_reason:
            self.stop_reason = delta.stop_reason

    def message(self) -> Message:
        import json

        blocks: list[Block] = []
        text = "".join(self.text_parts)
        if text:
            blocks.append(TextBlock(text))
        for index in sorted(self.tools):
            slot = self.tools[index]
            raw = "".join(slot["args"]).strip()
            try:
                args = json.loads(raw) if raw else {}
            except json.JSONDecodeError:
                # Keep the raw text so the tool layer can report a precise error to the model.
                args = {"__invalid_json__": raw}
            if not isinstance(args, dict):
                args = {"__invalid_json__": raw}
            blocks.append(ToolUseBlock(slot["id"] or f"call_{index}", slot["name"], args))
        return Message("assistant", blocks)
