"""Pure functions over captured screens: what is new since the last capture, and a
normalised body for "did the agent really print something" questions."""

from __future__ import annotations

import difflib
import re

_DIGITS = re.compile(r"\d+")
FOOTER_LINES = 3  # status bars / hints at the bottom redraw constantly (timers, ctx %)


def pane_delta(before: str, after: str) -> str:
    """The lines of `after` that are new relative to `before`: what the agent printed between
    two captures. A line diff, so it works for scrolling terminals (old lines leave at the top)
    and for full-screen TUIs (new lines appear above a fixed input box and footer) alike; a line
    that only changed its numbers (a timer, a context %, a token count) is not new output."""
    old = before.split("\n") if before else []
    new = after.split("\n") if after else []
    # Unchanged top (history, earlier turns) and bottom (input box, footer) first, so repeated
    # lines ("Done." after every turn) are read as appended output, not as moved lines.
    top = 0
    while top < min(len(old), len(new)) and old[top] == new[top]:
        top += 1
    bottom = 0
    while (bottom < min(len(old), len(new)) - top
           and _DIGITS.sub("#", old[-1 - bottom]) == _DIGITS.sub("#", new[-1 - bottom])):
        bottom += 1
    old, new = old[top:len(old) - bottom], new[top:len(new) - bottom]
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "insert":
            out.extend(new[j1:j2])
        elif tag == "replace":
            shapes = {_DIGITS.sub("#", line) for line in old[i1:i2]}
            out.extend(line for line in new[j1:j2] if _DIGITS.sub("#", line) not in shapes)
    return "\n".join(out).strip("\n")


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
