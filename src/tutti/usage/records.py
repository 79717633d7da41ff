"""The normalised usage record every log reader produces.

Token fields follow one convention whatever the runtime reports, so totals never double
count: `input_tokens` is *uncached* input only, cached prompt tokens are `cache_read_tokens`,
tokens written to a prompt cache are `cache_creation_tokens`, and `output_tokens` includes
reasoning/thinking tokens (`reasoning_tokens` is informational, already inside output).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any


def json_objects(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The JSON objects among log lines; a torn, foreign or non-object line is skipped, since
    an agent's log is not ours to reject."""
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            yield entry


@dataclass
class UsageRecord:
    key: str  # de-duplication key, unique across all logs of one runtime
    runtime: str
    ts: str
    model: str | None = None
    session_id: str | None = None
    cwd: str | None = None
    input_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.cache_creation_tokens + self.cache_read_tokens + self.output_tokens

    def is_empty(self) -> bool:
        return self.total_tokens == 0


@dataclass
class UsageTotals:
    input_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    requests: int = 0
    models: list[str] = field(default_factory=list)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.cache_creation_tokens + self.cache_read_tokens + self.output_tokens

    def add(self, rec: UsageRecord) -> None:
        self.input_tokens += rec.input_tokens
        self.cache_creation_tokens += rec.cache_creation_tokens
        self.cache_read_tokens += rec.cache_read_tokens
        self.output_tokens += rec.output_tokens
        self.reasoning_tokens += rec.reasoning_tokens
        self.requests += 1
        if rec.model and rec.model not in self.models:
            self.models.append(rec.model)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["total_tokens"] = self.total_tokens
        return data


def as_int(value: Any) -> int:
    """Token counts from logs: tolerate null, floats and strings without crashing a scan."""
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0
