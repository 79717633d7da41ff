"""Pure functions over captured screens: what is new since the last capture, and a
normalised body for "did the agent really print something" questions."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d+")
FOOTER_LINES = 3  # status bars / hints at the bottom redraw constantly (timers, ctx %)


def pane_delta(before: str, after: str) -> str:
    """Lines of `after` that follow the largest overlap between the end of `before` and the
    start of `after` — the text that appeared since `before` was captured."""
    old = before.split("\n") if before else []
    new = after.split("\n") if after else []
    if not old:
        return "\n".join(new).strip("\n")
    best = 0
    for size in range(min(len(old), len(new)), 0, -1):
        if old[-size:] == new[:size]:
            best = size
            break
    if best == 0:
        # No clean overlap (the screen was redrawn): fall back to lines not seen before.
        seen = set(old)
        return "\n".join(line for line in new if line not in seen).strip("\n")
    return "\n".join(new[best:]).strip("\n")


def body(screen: str, footer_lines: int = FOOTER_LINES) -> str:
    """The screen without its last `footer_lines` non-empty lines, digits masked: equal bodies
    mean nothing but timers, spinners' counters or footers changed."""
    lines = [line for line in screen.split("\n") if line.strip()]
    if footer_lines:
        lines = lines[:-footer_lines] if len(lines) > footer_lines else []
    return "\n".join(_DIGITS.sub("#", line) for line in lines)


def tail(text: str, lines: int) -> str:
    parts = text.split("\n")
    return "\n".join(parts[-lines:]) if lines > 0 else text
