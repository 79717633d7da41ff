"""Failover across provider profiles: when one stays down, the next one takes the turn.

Sticky: after a failover the chain keeps using the profile that worked, so a run does not
pay the dead provider's retry budget again on every turn.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from tutti.direct.messages import Message, ModelResponse, StreamDelta, ToolSpec
from tutti.direct.providers.base import Provider, ProviderCallError, ProviderEventSink


class ProviderChain:
    def __init__(self, providers: list[Provider]) -> None:
        if not providers:
            raise ValueError("ProviderChain needs at least one provider")
        self.providers = providers
        self.current = 0

    @property
    def active(self) -> Provider:
        return self.providers[self.current]

    def complete(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        *,
        system: str | None = None,
        on_delta: Callable[[StreamDelta], None] | None = None,
        on_event: ProviderEventSink | None = None,
        cancel: threading.Event | None = None,
    ) -> ModelResponse:
        last: ProviderCallError | None = None
        while self.current < len(self.providers):
            provider = self.active
            try:
                return provider.complete(
                    messages, tools, system=system, on_delta=on_delta, on_event=on_event, cancel=cancel
                )
            except ProviderCallError as exc:
                last = exc
                if not exc.failover or self.current + 1 >= len(self.providers):
                    raise
                nxt = self.providers[self.current + 1]
                if on_event:
                    on_event(
                        "direct.provider_failover",
                        {
                            "from_profile": provider.settings.label,
                            "to_profile": nxt.settings.label,
                            "from_model": provider.settings.model,
                            "to_model": nxt.settings.model,
                            "reason": exc.reason,
                            "status": exc.status,
                            "error": exc.message,
                        },
                    )
                self.current += 1
        assert last is not None
        raise last

    def close(self) -> None:
        for p in self.providers:
            p.close()
