"""Backoff between recoveries, and the retry/reset hints runtimes print.

A rate-limit screen often says when to come back ("Retrying in 11s", "try again in 5 minutes",
"resets 3pm"). `retry_after_secs` reads that hint so recovery does not restart an agent on the
same exhausted profile before the quota is back.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_UNIT_SECS = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "mins": 60,
              "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600}
_IN = re.compile(r"\b(?:retry(?:ing)?|try again|again|available|resets?|wait)\b[^\d\n]{0,20}?\bin\s+"
                 r"(?:about\s+|~)?(\d+(?:\.\d+)?)\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)\b", re.IGNORECASE)
_AFTER = re.compile(r"\bretry[- ]after[:=\s]+(\d+(?:\.\d+)?)\s*(s|secs?|seconds?)?\b", re.IGNORECASE)
_AT = re.compile(r"\bresets?\b(?:\s+at)?\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b", re.IGNORECASE)


def retry_after_secs(text: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds until the runtime says it may be retried, or None when the text gives no hint.

    A wall-clock reset ("resets 3pm", "reset at 14:30") is read in the machine's local zone
    (the zone the CLI printed it in) and means the next such time."""
    if not text:
        return None
    m = _IN.search(text) or _AFTER.search(text)
    if m:
        return float(m.group(1)) * _UNIT_SECS[(m.group(2) or "s").lower()]
    m = _AT.search(text)
    if m:
        hour, minute, ampm = int(m.group(1)), int(m.group(2) or 0), (m.group(3) or "").lower()
        if ampm == "pm" and hour < 12:
            hour += 12
        elif ampm == "am" and hour == 12:
            hour = 0
        if hour > 23 or minute > 59 or (not ampm and m.group(2) is None):
            return None  # "resets 3" is not a time
        now = now or datetime.now().astimezone()
        at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if at <= now:
            at += timedelta(days=1)
        return (at - now).total_seconds()
    return None


def backoff_secs(attempt: int, *, base: float, cap: float) -> float:
    """Delay before recovery `attempt` (1-based): 0 for the first (act at once), then base,
    2×base, 4×base … capped — 30 s, 60 s, 120 s with the defaults."""
    if attempt <= 1:
        return 0.0
    return float(min(cap, base * (2 ** (attempt - 2))))
