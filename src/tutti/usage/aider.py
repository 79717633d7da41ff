"""Aider's chat history (`AIDER_CHAT_HISTORY_FILE`, kept in the agent's home by
`runtimes.prepare`) as a usage log.

Aider keeps no machine-readable usage log; after each exchange it writes
`> Tokens: 1.2k sent, 500 cache hit, 42 received.` (`Cost: …` may follow) into the history.
Counts above 1000 are rounded (`1.2k`, `15k`), so these figures are approximate. `sent`
includes the cache write (and, for OpenAI-style providers, the cache hit) tokens; they are
moved out of `input_tokens` so the total is not inflated. The file is append-only, so a
record's key is its line number.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tutti.usage.records import UsageRecord

RUNTIME = "aider"

_COUNT = r"([\d.]+k?)"
_TOKENS = re.compile(
    rf"^>\s*Tokens:\s*{_COUNT} sent(?:,\s*{_COUNT} cache write)?(?:,\s*{_COUNT} cache hit)?,\s*{_COUNT} received"
)
_STARTED = re.compile(r"^# aider chat started at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")


def _count(text: str | None) -> int:
    if not text:
        return 0
    if text.endswith("k"):
        return round(float(text[:-1]) * 1000)
    try:
        return int(float(text))
    except ValueError:
        return 0


def parse_lines(lines: list[str], state: dict[str, Any]) -> list[UsageRecord]:
    out: list[UsageRecord] = []
    for line in lines:
        state["line"] = int(state.get("line", 0)) + 1
        started = _STARTED.match(line)
        if started:
            # Aider writes local time; stored as UTC like every other record.
            state["ts"] = datetime.fromisoformat(started.group(1)).astimezone().isoformat()
            continue
        m = _TOKENS.match(line)
        if not m:
            continue
        sent, write, hit, received = (_count(g) for g in m.groups())
        uncached = sent - write - hit if sent - write - hit >= 0 else max(sent - write, 0)
        rec = UsageRecord(
            key=f"aider:{state.get('path', '?')}:{state['line']}",
            runtime=RUNTIME, ts=str(state.get("ts") or ""),
            input_tokens=uncached, cache_creation_tokens=write, cache_read_tokens=hit, output_tokens=received,
        )
        if not rec.is_empty():
            out.append(rec)
    return out
