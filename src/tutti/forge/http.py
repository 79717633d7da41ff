"""One HTTP client for forge and tracker APIs (GitHub, Linear, Jira): retries done right.

- 5xx, connection errors and timeouts: exponential backoff with jitter (0.5 s doubling, capped
  at 30 s), up to `max_retries` times.
- Rate limits: 429, or 403 that says so (a `Retry-After` header, `X-RateLimit-Remaining: 0`, or
  GitHub's "secondary rate limit" message): wait exactly what the server asks (`Retry-After`
  seconds, or until `X-RateLimit-Reset`), then retry — as long as the total wait stays under
  `max_wait` seconds.
- 401 and every other 4xx: no retry; a `ForgeHTTPError` carrying the status.

A POST retried after a 5xx may have been applied by the server already; callers that must not
duplicate (comments, PRs) look before they write again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from tutti.errors import ForgeError

RETRY_STATUSES = {500, 502, 503, 504}


class ForgeHTTPError(ForgeError):
    """A request the server refused (status kept for callers that tolerate e.g. 404)."""

    def __init__(self, message: str, *, status: int, hint: str | None = None, body: Any = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.body = body


def _rate_limit_wait(resp: Any, now: float) -> float | None:
    """Seconds the server asks us to wait, or None when this is not a rate limit."""
    if resp.status_code not in (403, 429):
        return None
    retry_after = resp.headers.get("Retry-After")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                return max(0.0, parsedate_to_datetime(retry_after).timestamp() - now)
            except (TypeError, ValueError):
                return 60.0
    if resp.headers.get("X-RateLimit-Remaining") == "0" and resp.headers.get("X-RateLimit-Reset"):
        try:
            return max(1.0, float(resp.headers["X-RateLimit-Reset"]) - now)
        except ValueError:
            return 60.0
    text = resp.text.lower() if resp.status_code == 403 else ""
    if "secondary rate limit" in text or "abuse" in text:
        return 60.0  # GitHub's documented advice when it sends no header
    return 60.0 if resp.status_code == 429 else None


class ApiClient:
    """httpx with retries; `service` names the API in errors ("GitHub", "Linear", "Jira")."""

    def __init__(self, base_url: str, headers: dict[str, str], *, service: str, timeout: float = 30.0,
                 max_retries: int = 6, max_wait: float = 300.0, sleep: Callable[[float], None] = time.sleep,
                 auth: Any = None, hint: str | None = None) -> None:
        import httpx

        self.service, self.max_retries, self.max_wait, self.sleep, self.hint = service, max_retries, max_wait, sleep, hint
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, auth=auth,
                                  follow_redirects=True)
        self.waited = 0.0  # seconds slept for rate limits and backoff (tests and events read it)
        self.retries = 0

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None) -> Any:
        resp = self.send(method, path, params=params, json=json)
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise ForgeHTTPError(f"{self.service} {method} {path}: response is not JSON ({resp.text[:120]!r})",
                                 status=resp.status_code) from None

    def send(self, method: str, path: str, *, params: dict | None = None, json: Any = None) -> Any:
        """The raw response of a request that succeeded (2xx), after retries."""
        import httpx

        attempt, waited = 0, 0.0
        while True:
            try:
                resp = self._http.request(method, path, params=params, json=json)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                resp, error = None, exc
            else:
                error = None
                if resp.status_code < 400:
                    return resp
                wait = _rate_limit_wait(resp, time.time())
                if wait is not None:
                    if waited + wait > self.max_wait:
                        raise self._error(method, path, resp, extra=f"rate limited; the server asks to wait {wait:.0f}s more")
                    self._pause(wait)
                    waited += wait
                    continue
                if resp.status_code not in RETRY_STATUSES:
                    raise self._error(method, path, resp)
            attempt += 1
            if attempt > self.max_retries:
                if resp is not None:
                    raise self._error(method, path, resp, extra=f"after {self.max_retries} retries")
                raise ForgeError(f"{self.service} unreachable at {self.base_url}: {type(error).__name__}: {error}",
                                 hint=self.hint or "check the API URL and your network") from None
            delay = min(30.0, 0.5 * 2 ** (attempt - 1)) * (0.75 + random.random() / 2)
            self._pause(delay)
            waited += delay

    def _pause(self, secs: float) -> None:
        self.retries += 1
        self.waited += secs
        self.sleep(secs)

    def _error(self, method: str, path: str, resp: Any, *, extra: str = "") -> ForgeHTTPError:
        try:
            body = resp.json()
        except ValueError:
            body = resp.text
        detail = body.get("message") if isinstance(body, dict) and body.get("message") else (
            "; ".join(body.get("errorMessages") or []) if isinstance(body, dict) else str(body)[:200])
        hint = self.hint
        if resp.status_code == 401:
            hint = f"the {self.service} token was rejected: check it is set and not expired" + (f" ({self.hint})" if self.hint else "")
        msg = f"{self.service} {method} {path} failed: HTTP {resp.status_code} {detail}".rstrip()
        return ForgeHTTPError(msg + (f" ({extra})" if extra else ""), status=resp.status_code, hint=hint, body=body)
