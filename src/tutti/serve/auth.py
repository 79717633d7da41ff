"""Bearer-token auth, the dashboard's login cookie, Origin checks and the body-size cap.

One pure-ASGI middleware (it must not buffer the SSE stream) enforces, in order:
1. request bodies ≤ 1 MB (413);
2. when a token is configured: `Authorization: Bearer <token>` or the `tutti_session` cookie set by
   `/login` (EventSource cannot send headers) — compared with `hmac.compare_digest`;
3. state-changing requests carrying a foreign `Origin` are refused (403), so a web page on another
   site cannot drive the API through the user's browser;
4. without a token (loopback only) the `Host` must be a loopback name: a DNS-rebinding page
   (Host: evil.example resolving to 127.0.0.1) would otherwise pass the Origin check.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

from tutti.fsutil import write_text_atomic
from tutti.paths import global_config_dir

MAX_BODY_BYTES = 1024 * 1024
# An image upload (<= 5 MiB, base64 in JSON) is the one body allowed to be larger.
BODY_LIMITS = {"/v1/actions/upload": 7 * 1024 * 1024 + 64 * 1024}
COOKIE_NAME = "tutti_session"
TOKEN_FILENAME = "serve-token"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Reachable without credentials: the login step itself (and the browser's favicon probe).
PUBLIC_PATHS = {"/login", "/favicon.ico"}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def token_path() -> Path:
    return global_config_dir() / TOKEN_FILENAME


def load_or_create_token(path: Path | None = None) -> str:
    """The server token: 32 random bytes hex, created once with mode 0600 and reused after."""
    path = path or token_path()
    try:
        existing = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        existing = ""
    if len(existing) >= 32:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)  # tighten a token file someone loosened
        return existing
    token = secrets.token_hex(32)
    # The temp file is 0600 from creation, so the token is never world-readable.
    write_text_atomic(path, token + "\n", mode=0o600)
    return token


def token_hint(token: str, path: Path | None = None) -> str:
    """What `tt serve` prints instead of the token: a prefix and where the file is."""
    return f"{token[:6]}… (full token in {path or token_path()})"


def session_value(token: str) -> str:
    """The cookie value: derived from the token, so the raw token never sits in a cookie jar."""
    return hmac.new(token.encode(), b"tutti-dashboard-session", hashlib.sha256).hexdigest()


def is_loopback(host: str) -> bool:
    return host.strip("[]") in LOOPBACK


def _hostname(host: str) -> str:
    """`127.0.0.1:4040` → `127.0.0.1`, `[::1]:4040` → `::1`."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def credentials_ok(token: str, headers: dict[str, str]) -> bool:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and hmac.compare_digest(auth[7:].strip().encode(), token.encode()):
        return True
    raw_cookie = headers.get("cookie")
    if raw_cookie:
        cookie = SimpleCookie()
        try:
            cookie.load(raw_cookie)
        except CookieError:  # a malformed Cookie header is simply no credential
            return False
        morsel = cookie.get(COOKIE_NAME)
        if morsel is not None and hmac.compare_digest(morsel.value.encode(), session_value(token).encode()):
            return True
    return False


def origin_ok(headers: dict[str, str], scheme: str) -> bool:
    """No Origin (curl, CLI, webhooks) is fine; a browser Origin must be this server itself."""
    origin = headers.get("origin")
    if not origin:
        return True
    host = headers.get("host", "")
    parts = urlsplit(origin)
    return parts.scheme in {"http", "https"} and parts.netloc.lower() == host.lower()


class GuardMiddleware:
    def __init__(self, app, *, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        path = scope.get("path", "")
        method = scope.get("method", "GET")
        if not self.token and not is_loopback(_hostname(headers.get("host", "127.0.0.1"))):
            await _reject(send, 403, "auth", "forbidden",
                          "this unauthenticated server only answers requests addressed to localhost")
            return
        if self.token and path not in PUBLIC_PATHS and not credentials_ok(self.token, headers):
            if method == "GET" and not path.startswith("/v1/") and "text/html" in headers.get("accept", ""):
                await _redirect(send, "/login")
                return
            await _reject(send, 401, "auth", "unauthorized", "invalid or missing bearer token")
            return
        if method in STATE_CHANGING and not origin_ok(headers, scope.get("scheme", "http")):
            await _reject(send, 403, "auth", "forbidden", f"cross-origin request refused (Origin: {headers.get('origin')})")
            return
        length = headers.get("content-length")
        limit = BODY_LIMITS.get(path, MAX_BODY_BYTES)
        if length and length.isdigit() and int(length) > limit:
            await _reject(send, 413, _action_for(path), "payload_too_large",
                          f"request body exceeds {limit // (1024 * 1024)} MB")
            return
        await _capped(self.app, scope, receive, send, _action_for(path), limit)


async def _capped(app, scope, receive, send, action: str, limit: int = MAX_BODY_BYTES) -> None:
    """Count streamed (chunked) body bytes too: a missing Content-Length is no way around the cap.
    Past the cap we answer 413 ourselves, tell the app the client left, and drop its reply."""
    seen = 0
    rejected = False

    async def capped_receive():
        nonlocal seen, rejected
        if rejected:
            return {"type": "http.disconnect"}
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                rejected = True
                await _reject(send, 413, action, "payload_too_large", f"request body exceeds {limit // (1024 * 1024)} MB")
                return {"type": "http.disconnect"}
        return message

    async def guarded_send(message):
        if not rejected:
            await send(message)

    try:
        await app(scope, capped_receive, guarded_send)
    except Exception:
        if not rejected:
            raise


def _action_for(path: str) -> str:
    if path.startswith("/v1/actions/"):
        return path.rsplit("/", 1)[-1] or "action"
    if path.startswith("/v1/webhooks/"):
        return "webhook"
    return "route"


async def _reject(send, status: int, action: str, code: str, message: str) -> None:
    body = json.dumps({"ok": False, "action": action, "error": {"code": code, "message": message}, "data": None}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _redirect(send, location: str) -> None:
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode()), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
