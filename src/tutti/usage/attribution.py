"""Who spent what: token usage and cost grouped by agent, runtime, provider, model, run or day.

Two sources, one shape. CLI agents' usage comes from their own logs (`usage_records`, see
`tutti.usage.scan`) and is priced here with the same table API-direct calls use; API-direct
calls carry their provider, model and cost in their `direct.model_call` events. A CLI record
belongs to a workflow run when it was written while one of that run's steps was running on
the record's agent (a record outside every step stays "(no run)").
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

GROUPINGS = ("agent", "runtime", "provider", "model", "run", "day")
NO_RUN = "(no run)"
UNKNOWN = "(unknown)"

# Which provider serves a CLI runtime when its records name no recognisable model.
RUNTIME_PROVIDER = {"claude-code": "anthropic", "codex": "openai", "gemini-cli": "google", "fake": "fake"}
MODEL_PREFIX_PROVIDER = (("claude", "anthropic"), ("gpt", "openai"), ("o1", "openai"), ("o3", "openai"),
                         ("o4", "openai"), ("codex", "openai"), ("gemini", "google"))


def provider_of(model: str | None, runtime: str | None) -> str:
    name = (model or "").rsplit("/", 1)[-1].lower()
    for prefix, provider in MODEL_PREFIX_PROVIDER:
        if name.startswith(prefix):
            return provider
    return RUNTIME_PROVIDER.get(runtime or "", UNKNOWN)


@dataclass
class Spend:
    """One priced usage entry, whatever its source."""

    ts: str
    agent: str | None
    runtime: str | None
    provider: str
    model: str | None
    run_id: str | None
    input_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    priced: bool = True
    source: str = "cli"  # "cli" (runtime logs) | "direct" (API-direct events)


@dataclass
class SpendGroup:
    key: str
    input_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    cost_usd: float = 0.0
    unpriced_requests: int = 0  # requests of models the price table does not know (counted as $0)
    models: list[str] = field(default_factory=list)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.cache_creation_tokens + self.cache_read_tokens + self.output_tokens

    def add(self, s: Spend) -> None:
        self.input_tokens += s.input_tokens
        self.cache_creation_tokens += s.cache_creation_tokens
        self.cache_read_tokens += s.cache_read_tokens
        self.output_tokens += s.output_tokens
        self.requests += 1
        self.cost_usd += s.cost_usd
        self.unpriced_requests += 0 if s.priced else 1
        if s.model and s.model not in self.models:
            self.models.append(s.model)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cost_usd"] = round(self.cost_usd, 6)
        data["total_tokens"] = self.total_tokens
        return data


def group_key(s: Spend, by: str) -> str:
    if by == "day":
        return local_day(s.ts)
    if by == "run":
        return s.run_id or NO_RUN
    value = getattr(s, by)
    return value if value else UNKNOWN


def local_day(ts: str) -> str:
    """The local calendar day of an RFC3339 timestamp (what "today" means to the operator)."""
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone().date().isoformat()


def group(spends: Iterable[Spend], by: str) -> tuple[list[SpendGroup], SpendGroup]:
    groups: dict[str, SpendGroup] = {}
    total = SpendGroup("total")
    for s in spends:
        groups.setdefault(group_key(s, by), SpendGroup(group_key(s, by))).add(s)
        total.add(s)
    order = sorted(groups.values(), key=lambda g: g.key) if by == "day" else \
        sorted(groups.values(), key=lambda g: (-g.cost_usd, -g.total_tokens, g.key))
    return order, total


# -- sources ----------------------------------------------------------------------------------
class StepWindows:
    """Per agent, the time windows in which a workflow step ran on it: (start, end, run_id)."""

    def __init__(self, rows: Iterable[Any]) -> None:
        open_steps: dict[tuple[str, str], tuple[str, str]] = {}
        self.windows: dict[str, list[tuple[str, str, str]]] = {}
        for row in rows:
            key = (row["run_id"], row["step"])
            if row["kind"] == "workflow.step.started":
                if row["agent"]:
                    open_steps[key] = (row["agent"], row["ts"])
            elif key in open_steps:
                agent, start = open_steps.pop(key)
                self.windows.setdefault(agent, []).append((start, row["ts"], row["run_id"]))
        for (run_id, _), (agent, start) in open_steps.items():  # still running: open to the future
            self.windows.setdefault(agent, []).append((start, "9999", run_id))
        for spans in self.windows.values():
            spans.sort()
        self._starts = {a: [w[0] for w in ws] for a, ws in self.windows.items()}

    def run_at(self, agent: str | None, ts: str) -> str | None:
        if not agent or agent not in self.windows:
            return None
        # The latest window that started before ts and had not ended (steps on one agent rarely
        # overlap; when they do, the most recently started one gets the tokens).
        for start, end, run_id in reversed(self.windows[agent][:bisect.bisect_right(self._starts[agent], ts)]):
            if ts <= end:
                return run_id
        return None


def cli_spends(rows: Iterable[Any], windows: StepWindows, prices: Any) -> Iterator[Spend]:
    """`usage_records` rows priced with the table (uncached input, cache reads and writes apart)."""
    for r in rows:
        model = r["model"]
        cost, priced = prices.cost_of(model, r["input_tokens"], r["output_tokens"], r["cache_read_tokens"],
                                      r["cache_creation_tokens"]) if model else (0.0, False)
        yield Spend(r["ts"], r["agent"], r["runtime"], provider_of(model, r["runtime"]), model,
                    windows.run_at(r["agent"], r["ts"]), r["input_tokens"], r["cache_creation_tokens"],
                    r["cache_read_tokens"], r["output_tokens"], cost, priced, "cli")


def direct_spends(rows: Iterable[Any], runtimes: dict[str, str]) -> Iterator[Spend]:
    """`direct.model_call` events: their provider, model and cost as recorded at call time."""
    for r in rows:
        d = json.loads(r["data"] or "{}")
        provider = d.get("provider") or provider_of(d.get("model"), None)
        yield Spend(r["ts"], r["agent"], runtimes.get(r["agent"] or "", "api-direct"), provider, d.get("model"),
                    r["run_id"], int(d.get("input_tokens") or 0), int(d.get("cache_write_tokens") or 0),
                    int(d.get("cached_tokens") or 0), int(d.get("output_tokens") or 0),
                    float(d.get("cost_usd") or 0.0), bool(d.get("priced", True)), "direct")
