"""The provider interface: stream a model turn, with retries, honest errors and no key leaks.

A concrete provider only knows its wire format: how to build a request (`_request`) and how to
turn its stream into `StreamDelta`s (`_parse_stream`). This base class owns what every
provider must get right the same way:
- retries with exponential backoff on 429 / 5xx / network errors, honouring `Retry-After`
  (delta-seconds or an HTTP date), never retrying once output has been streamed;
- classification into auth / rate_limited / quota / unavailable / bad_request, and whether the
  failure should fail over to the next profile;
- the API key is only ever placed in a request header; every error text is scrubbed of it.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from tutti.direct.messages import Message, ModelResponse, StreamAssembler, StreamDelta, ToolSpec, Usage
from tutti.errors import ProviderError

if TYPE_CHECKING:
    import httpx

# Called with (event_kind, payload) for retries and failovers; the loop records them as events.
ProviderEventSink = Callable[[str, dict[str, Any]], None]


@dataclass
class ProviderSettings:
    """Everything needed to call one provider profile. `api_key` is excluded from repr/to_dict."""

    kind: str
    model: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    api_key_env: str | None = None
    profile: str | None = None
    timeout_secs: float = 120.0
    max_retries: int = 4
    initial_backoff_secs: float = 0.5
    max_backoff_secs: float = 30.0
    # A Retry-After longer than this means "down for a while": fail over instead of waiting.
    max_retry_after_secs: float = 60.0
    max_tokens: int | None = None

    @property
    def label(self) -> str:
        return self.profile or f"{self.kind}:{self.model}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "model": self.model,
            "base_url": self.base_url,
            "profile": self.profile,
            "api_key_env": self.api_key_env,
            "has_api_key": bool(self.api_key),
        }


class ProviderCallError(ProviderError):
    """One provider failed. `reason` is machine-readable; `failover` says whether trying the
    next profile could help (auth, quota, outage) as opposed to a malformed request."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        status: int | None = None,
        failover: bool = True,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, code=f"provider_{reason}")
        self.reason = reason
        self.status = status
        self.failover = failover
        self.retry_after = retry_after


class _Retryable(Exception):
    def __init__(self, error: ProviderCallError) -> None:
        super().__init__(error.message)
        self.error = error


def redact(text: str, secret: str | None) -> str:
    if secret and len(secret) >= 4:
        text = text.replace(secret, "[REDACTED]")
    return text


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds to wait: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


def iter_sse(lines: Iterator[str]) -> Iterator[tuple[str | None, str]]:
    """Server-sent events as (event name, data) pairs."""
    event: str | None = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield event, "\n".join(data)
            event, data = None, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if data:
        yield event, "\n".join(data)


def iter_json_events(
    events: Iterator[tuple[str | None, str]], *, end: str | None = None
) -> Iterator[tuple[str | None, Any]]:
    """SSE events with their data decoded as JSON; undecodable data (keep-alives, comments a
    server put in `data:`) is skipped. Stops at a data line equal to `end` (OpenAI's `[DONE]`)."""
    for event, data in events:
        if end is not None and data.strip() == end:
            return
        try:
            payload = json.loads(data)
        except json.JSONDecodeError:
            continue
        yield event, payload


def usage_net_of_cached(input_tokens: Any, output_tokens: Any, cached_tokens: Any) -> Usage:
    """A Usage from counts where the input total *includes* the cached tokens (OpenAI, Gemini):
    keep them apart so cost is not double counted."""
    cached = int(cached_tokens or 0)
    return Usage(
        input_tokens=max(0, int(input_tokens or 0) - cached),
        output_tokens=int(output_tokens or 0),
        cached_tokens=cached,
    )


class Provider:
    """Base class. Subclasses set `kind` and implement `_request` and `_parse_stream`."""

    kind = "base"

    def __init__(self, settings: ProviderSettings, *, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self._own_client = client is None
        self.__client = client

    @property
    def _client(self) -> httpx.Client:
        # Built on first use: a client costs ~80 ms (TLS context), and fallback profiles that
        # are never needed should not pay it.
        if self.__client is None:
            import httpx

            s = self.settings
            self.__client = httpx.Client(
                timeout=httpx.Timeout(s.timeout_secs, connect=min(10.0, s.timeout_secs)),
                # Keys never come from the environment implicitly (no ~/.netrc, no proxies' auth).
                trust_env=False,
            )
        return self.__client

    # -- wire format (subclasses) ------------------------------------------------------------
    def _request(
        self, messages: list[Message], tools: list[ToolSpec], system: str | None
    ) -> tuple[str, dict, dict]:
        """(url, headers, json body) of a streaming request."""
        raise NotImplementedError

    def _parse_stream(self, events: Iterator[tuple[str | None, str]]) -> Iterator[StreamDelta]:
        raise NotImplementedError

    def _classify_body(self, status: int, body: str) -> str | None:
        """A finer reason from the error body (e.g. quota vs rate limit); None = by status."""
        lowered = body.lower()
        if (
            "insufficient_quota" in lowered
            or "exceeded your current quota" in lowered
            or "credit balance is too low" in lowered
            or "billing" in lowered
        ):
            return "quota"
        return None

    # -- shared by the wire formats -----------------------------------------------------------
    def _sse_headers(
        self, key_header: str, key_prefix: str = "", extra: dict[str, str] | None = None
    ) -> dict[str, str]:
        """Headers of a streaming JSON request; the API key goes only into `key_header`."""
        headers = {"content-type": "application/json", **(extra or {}), "accept": "text/event-stream"}
        if self.settings.api_key:
            headers[key_header] = f"{key_prefix}{self.settings.api_key}"
        return headers

    def _mid_stream_error(
        self, error: object, *, reason: str = "unavailable", failover: bool = False
    ) -> ProviderCallError:
        """An error the provider reported inside an already-started stream (never retried)."""
        return ProviderCallError(
            f"{self.settings.label}: error mid-stream: "
            f"{redact(str(error)[:300], self.settings.api_key)}",
            reason=reason,
            failover=failover,
        )

    # -- public API ---------------------------------------------------------------------------
    def stream(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        *,
        system: str | None = None,
        on_event: ProviderEventSink | None = None,
        cancel: threading.Event | None = None,
        attempts: list[int] | None = None,
    ) -> Iterator[StreamDelta]:
        """Yield deltas of one model turn, retrying transient failures before output starts."""
        s = self.settings
        attempt = 0
        while True:
            attempt += 1
            if attempts is not None:
                attempts.append(attempt)
            started_output = False
            try:
                for delta in self._stream_once(messages, tools, system):
                    started_output = True
                    yield delta
                return
            except _Retryable as retry:
                error = retry.error
                if started_output or attempt > s.max_retries:
                    raise error from None
                if error.retry_after is not None:
                    if error.retry_after > s.max_retry_after_secs:
                        raise error from None
                    delay = error.retry_after
                else:
                    base = min(s.max_backoff_secs, s.initial_backoff_secs * (2 ** (attempt - 1)))
                    delay = base * random.uniform(0.5, 1.0)
                if on_event:
                    on_event(
                        "direct.provider_retry",
                        {
                            "provider": self.kind,
                            "profile": s.profile,
                            "model": s.model,
                            "attempt": attempt,
                            "status": error.status,
                            "reason": error.reason,
                            "delay_secs": round(delay, 3),
                            "retry_after": error.retry_after,
                        },
                    )
                if cancel is not None:
                    if cancel.wait(delay):
                        raise ProviderCallError(
                            "cancelled while waiting to retry", reason="cancelled", failover=False
                        ) from None
                else:
                    time.sleep(delay)

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
        started = time.monotonic()
        assembler = StreamAssembler()
        attempts: list[int] = []
        for delta in self.stream(
            messages, tools, system=system, on_event=on_event, cancel=cancel, attempts=attempts
        ):
            assembler.add(delta)
            if on_delta:
                on_delta(delta)
            if cancel is not None and cancel.is_set():
                break
        message = assembler.message()
        stop = assembler.stop_reason
        if message.tool_uses and stop == "end_turn":
            stop = "tool_use"  # some local servers say "stop" even when they emitted tool calls
        return ModelResponse(
            message=message,
            stop_reason=stop,
            usage=assembler.usage,
            model=self.settings.model,
            provider=self.kind,
            profile=self.settings.profile,
            latency_ms=(time.monotonic() - started) * 1000,
            attempts=len(attempts),
        )

    def close(self) -> None:
        if self.__client is not None and self._own_client:
            self.__client.close()
            self.__client = None

    # -- one attempt --------------------------------------------------------------------------
    def _stream_once(
        self, messages: list[Message], tools: list[ToolSpec], system: str | None
    ) -> Iterator[StreamDelta]:
        import httpx

        url, headers, body = self._request(messages, tools, system)
        try:
            with self._client.stream("POST", url, headers=headers, json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._http_error(
                        response.status_code, response.text, response.headers.get("retry-after")
                    )
                events = iter_sse(response.iter_lines())
                yield from self._parse_stream(events)
                for _ in events:
                    # Read to the end (past `[DONE]` / `message_stop`) so the connection goes
                    # back to the pool instead of being closed: one TCP connect per run, not per turn.
                    pass
        except httpx.TimeoutException as exc:
            raise _Retryable(
                ProviderCallError(
                    f"{self.settings.label}: no response within {self.settings.timeout_secs:g}s "
                    f"({type(exc).__name__})",
                    reason="unavailable",
                    hint="the provider is hanging; raise timeout or configure a fallback profile",
                )
            ) from None
        except httpx.TransportError as exc:
            raise _Retryable(
                ProviderCallError(
                    f"{self.settings.label}: cannot reach {self.settings.base_url}: "
                    f"{redact(str(exc), self.settings.api_key)}",
                    reason="unavailable",
                    hint="check base_url and that the server is running",
                )
            ) from None

    def _http_error(self, status: int, body: str, retry_after_header: str | None) -> Exception:
        s = self.settings
        detail = redact(_error_detail(body), s.api_key)[:300]
        retry_after = parse_retry_after(retry_after_header)
        reason = self._classify_body(status, body)
        where = f"{s.label} ({s.kind} {s.base_url})"
        if reason == "quota":
            return ProviderCallError(
                f"{where}: quota exhausted (HTTP {status}): {detail}",
                reason="quota",
                status=status,
                hint='add credits or configure another plan="api" profile',
            )
        if status in (401, 403):
            env = f"${s.api_key_env}" if s.api_key_env else "the API key"
            return ProviderCallError(
                f"{where}: authentication failed (HTTP {status}): {detail}",
                reason="auth",
                status=status,
                hint=f"check {env} for profile {s.profile or s.kind}",
            )
        if status == 429:
            return _Retryable(
                ProviderCallError(
                    f"{where}: rate limited (HTTP 429): {detail}",
                    reason="rate_limited",
                    status=status,
                    retry_after=retry_after,
                    hint="wait, lower concurrency, or configure a fallback profile",
                )
            )
        if status >= 500 or status == 408:
            return _Retryable(
                ProviderCallError(
                    f"{where}: provider error (HTTP {status}): {detail}",
                    reason="unavailable",
                    status=status,
                    retry_after=retry_after,
                    hint="the provider is down; a fallback profile is tried if configured",
                )
            )
        return ProviderCallError(
            f"{where}: request rejected (HTTP {status}): {detail}",
            reason="bad_request",
            status=status,
            failover=False,
            hint="check the model name and request options",
        )


def _error_detail(body: str) -> str:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, ValueError):
        return body.strip().replace("\n", " ")
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict) and err.get("message"):
        return str(err["message"])
    if isinstance(err, str):
        return err
    return body.strip().replace("\n", " ")
