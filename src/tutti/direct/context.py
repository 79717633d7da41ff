"""Keep a long run's conversation inside the model's context window.

Tool outputs dominate a coding agent's history (file contents, test logs). When the whole
conversation exceeds `max_chars`, the oldest tool results are replaced by a one-line note —
oldest first, never the latest `keep_recent` messages, never the model's own words or the
task — until it fits. Deterministic, so a replay shows exactly what the model saw.
"""

from __future__ import annotations

from tutti.direct.messages import Message, TextBlock, ToolResultBlock, ToolUseBlock

DEFAULT_MAX_CHARS = 400_000  # ≈100k tokens
ELIDED = "[older tool output elided to fit the context window: {n} characters]"


def size(messages: list[Message]) -> int:
    total = 0
    for m in messages:
        for b in m.content:
            if isinstance(b, TextBlock):
                total += len(b.text)
            elif isinstance(b, ToolResultBlock):
                total += len(b.content)
            elif isinstance(b, ToolUseBlock):
                total += len(str(b.input))
    return total


def compact(messages: list[Message], *, max_chars: int = DEFAULT_MAX_CHARS, keep_recent: int = 4) -> int:
    """Elide old tool results in place until the history fits; returns characters removed."""
    excess = size(messages) - max_chars
    removed = 0
    if excess <= 0:
        return 0
    for m in messages[: max(0, len(messages) - keep_recent)]:
        for i, b in enumerate(m.content):
            if removed >= excess:
                return removed
            if isinstance(b, ToolResultBlock) and not b.content.startswith("[older tool output elided"):
                note = ELIDED.format(n=len(b.content))
                if len(note) < len(b.content):
                    removed += len(b.content) - len(note)
                    m.content[i] = ToolResultBlock(b.tool_use_id, note, b.is_error)
    return removed
