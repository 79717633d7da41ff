"""Apply unified diffs (what `diff -u` and `git diff` produce) without a shell.

All-or-nothing: every file's new content is computed first; nothing is written unless every
hunk of every file applies. Hunks may have drifted a few lines (searched outward from the
stated line), but context and removed lines must match exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(ValueError):
    """The patch is malformed or does not apply."""


@dataclass
class Hunk:
    old_start: int
    lines: list[str] = field(default_factory=list)  # each starts with ' ', '-' or '+'

    @property
    def old(self) -> list[str]:
        return [ln[1:] for ln in self.lines if ln[:1] in (" ", "-")]

    @property
    def new(self) -> list[str]:
        return [ln[1:] for ln in self.lines if ln[:1] in (" ", "+")]


@dataclass
class FilePatch:
    old_path: str | None  # None: file is created
    new_path: str | None  # None: file is deleted
    hunks: list[Hunk] = field(default_factory=list)
    no_newline_at_end: bool = False

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""


def _strip_prefix(name: str) -> str | None:
    name = name.split("\t", 1)[0].strip()
    if name == "/dev/null":
        return None
    if name.startswith(("a/", "b/")):
        return name[2:]
    return name


def parse_patch(text: str) -> list[FilePatch]:
    files: list[FilePatch] = []
    lines = text.splitlines()
    i = 0
    current: FilePatch | None = None
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            current = FilePatch(_strip_prefix(line[4:]), _strip_prefix(lines[i + 1][4:]))
            files.append(current)
            i += 2
            continue
        m = _HUNK.match(line)
        if m:
            if current is None:
                raise PatchError("hunk before any '--- a/file' / '+++ b/file' header")
            old_len = int(m.group(2)) if m.group(2) is not None else 1
            new_len = int(m.group(4)) if m.group(4) is not None else 1
            hunk = Hunk(old_start=int(m.group(1)))
            i += 1
            seen_old = seen_new = 0
            while i < len(lines) and (seen_old < old_len or seen_new < new_len):
                body = lines[i]
                if body.startswith("\\"):
                    current.no_newline_at_end = True
                    i += 1
                    continue
                tag = body[:1] if body else " "  # some editors strip the space of empty context lines
                if tag not in (" ", "-", "+"):
                    raise PatchError(f"{current.path}: unexpected line in hunk: {body[:60]!r}")
                hunk.lines.append(tag + body[1:])
                seen_old += tag in (" ", "-")
                seen_new += tag in (" ", "+")
                i += 1
            if seen_old != old_len or seen_new != new_len:
                raise PatchError(
                    f"{current.path}: hunk @@ -{m.group(1)} is truncated "
                    f"(expected {old_len} old/{new_len} new lines)"
                )
            while i < len(lines) and lines[i].startswith("\\"):
                current.no_newline_at_end = True
                i += 1
            current.hunks.append(hunk)
            continue
        i += 1
    if not files:
        raise PatchError("no file headers found (expected a unified diff with '--- ' and '+++ ' lines)")
    return files


def apply_hunks(original: str, patch: FilePatch, max_drift: int = 200) -> str:
    """New content of one file. Raises PatchError naming the hunk that does not apply."""
    src = original.splitlines()
    trailing_newline = original.endswith("\n") or original == ""
    out: list[str] = []
    pos = 0
    for number, hunk in enumerate(patch.hunks, 1):
        old = hunk.old
        want = max(hunk.old_start - 1, 0) if old else hunk.old_start
        found = None
        for drift in range(max_drift + 1):
            for candidate in (want + drift,) if drift == 0 else (want + drift, want - drift):
                if candidate < pos or candidate + len(old) > len(src):
                    continue
                if src[candidate : candidate + len(old)] == old:
                    found = candidate
                    break
            if found is not None:
                break
        if found is None:
            first = old[0] if old else ""
            raise PatchError(
                f"{patch.path}: hunk {number} (@@ -{hunk.old_start}) does not apply: "
                f"context not found near line {hunk.old_start} (first line {first[:60]!r})"
            )
        out.extend(src[pos:found])
        out.extend(hunk.new)
        pos = found + len(old)
    out.extend(src[pos:])
    text = "\n".join(out)
    if out and (trailing_newline and not patch.no_newline_at_end):
        text += "\n"
    return text
