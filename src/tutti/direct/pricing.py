"""What a model call costs: a built-in price table (USD per million tokens), overridable by
`[pricing.<model>]` in tutti.toml. Unknown models cost 0 and are flagged, never guessed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tutti.direct.messages import Usage


@dataclass(frozen=True)
class Price:
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None  # default: 10% of input
    cache_write_per_mtok: float | None = None  # default: 125% of input

    def cost(self, usage: Usage) -> float:
        return self.cost_of(usage.input_tokens, usage.output_tokens, usage.cached_tokens, usage.cache_write_tokens)

    def cost_of(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0,
                cache_write_tokens: int = 0) -> float:
        """USD for plain token counts (uncached input, output, cache reads, cache writes)."""
        cached = (
            self.cached_input_per_mtok
            if self.cached_input_per_mtok is not None
            else self.input_per_mtok * 0.1
        )
        write = (
            self.cache_write_per_mtok if self.cache_write_per_mtok is not None else self.input_per_mtok * 1.25
        )
        return (
            input_tokens * self.input_per_mtok
            + output_tokens * self.output_per_mtok
            + cached_tokens * cached
            + cache_write_tokens * write
        ) / 1_000_000


# Public list prices (USD / 1M tokens) as of 2025. Matched by exact name, then longest prefix,
# so dated snapshots ("claude-sonnet-4-5-20250929") find their family.
BUILTIN: dict[str, Price] = {
    "claude-opus-4": Price(15.0, 75.0, 1.5, 18.75),
    "claude-opus-4-1": Price(15.0, 75.0, 1.5, 18.75),
    "claude-opus-4-5": Price(5.0, 25.0, 0.5, 6.25),
    "claude-sonnet-4": Price(3.0, 15.0, 0.3, 3.75),
    "claude-sonnet-4-5": Price(3.0, 15.0, 0.3, 3.75),
    "claude-3-7-sonnet": Price(3.0, 15.0, 0.3, 3.75),
    "claude-3-5-sonnet": Price(3.0, 15.0, 0.3, 3.75),
    "claude-haiku-4-5": Price(1.0, 5.0, 0.1, 1.25),
    "claude-3-5-haiku": Price(0.8, 4.0, 0.08, 1.0),
    "claude-3-haiku": Price(0.25, 1.25, 0.03, 0.3),
    "gpt-4o": Price(2.5, 10.0, 1.25),
    "gpt-4o-mini": Price(0.15, 0.6, 0.075),
    "gpt-4.1": Price(2.0, 8.0, 0.5),
    "gpt-4.1-mini": Price(0.4, 1.6, 0.1),
    "gpt-4.1-nano": Price(0.1, 0.4, 0.025),
    "gpt-5": Price(1.25, 10.0, 0.125),
    "gpt-5-mini": Price(0.25, 2.0, 0.025),
    "gpt-5-nano": Price(0.05, 0.4, 0.005),
    "o3": Price(2.0, 8.0, 0.5),
    "o4-mini": Price(1.1, 4.4, 0.275),
    "gemini-2.5-pro": Price(1.25, 10.0, 0.31),
    "gemini-2.5-flash": Price(0.3, 2.5, 0.075),
}


class PriceTable:
    def __init__(self, overrides: Mapping[str, object] | None = None) -> None:
        self.prices = dict(BUILTIN)
        for model, raw in (overrides or {}).items():
            self.prices[model] = _as_price(raw)

    def lookup(self, model: str) -> Price | None:
        if model in self.prices:
            return self.prices[model]
        name = model.rsplit("/", 1)[-1]  # "openai/gpt-4o" on routers
        best = max((k for k in self.prices if name.startswith(k)), key=len, default=None)
        return self.prices[best] if best else None

    def cost(self, model: str, usage: Usage) -> tuple[float, bool]:
        """(USD, priced?) — `priced` is False when the model is unknown (cost reported as 0)."""
        return self.cost_of(model, usage.input_tokens, usage.output_tokens, usage.cached_tokens,
                            usage.cache_write_tokens)

    def cost_of(self, model: str, input_tokens: int, output_tokens: int, cached_tokens: int = 0,
                cache_write_tokens: int = 0) -> tuple[float, bool]:
        """`cost` for plain counts — for callers that hold no `Usage` (CLI agents' log records)."""
        price = self.lookup(model)
        if price is None:
            return 0.0, False
        return price.cost_of(input_tokens, output_tokens, cached_tokens, cache_write_tokens), True


def _as_price(raw: object) -> Price:
    if isinstance(raw, Price):
        return raw
    get = raw.get if isinstance(raw, Mapping) else lambda k, d=None: getattr(raw, k, d)
    return Price(
        float(get("input_per_mtok")),
        float(get("output_per_mtok")),
        get("cached_input_per_mtok", None),
        get("cache_write_per_mtok", None),
    )
