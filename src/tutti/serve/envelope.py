"""The `{ok, action, error, data}` envelope every API response uses (inventory §4.2).

Handlers return plain data; `ok()` wraps it. Every failure — a TuttiError from ops, a bad request,
an unknown route — becomes an `ApiError` or TuttiError and is rendered by ONE exception handler in
`serve.app`, so the status-code mapping lives here and nowhere else.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from tutti.errors import NotFoundError, TuttiError


class ApiError(Exception):
    """An HTTP-level failure with an explicit status and code (auth, routing, idempotency)."""

    def __init__(self, status: int, code: str, message: str, *, action: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.action = action


def envelope(action: str, *, data: Any = None, error: dict | None = None) -> dict[str, Any]:
    return {"ok": error is None, "action": action, "error": error, "data": data}


def ok(action: str, data: Any = None) -> JSONResponse:
    return JSONResponse(envelope(action, data=plain(data)))


def error_response(status: int, action: str, code: str, message: str, hint: str | None = None) -> JSONResponse:
    err: dict[str, Any] = {"code": code, "message": message}
    if hint:
        err["hint"] = hint
    return JSONResponse(envelope(action, error=err), status_code=status)


def from_tutti_error(exc: TuttiError, action: str, kind: str) -> JSONResponse:
    """Map a TuttiError to (status, code) by the kind of endpoint that raised it.

    kind: "read" (GET) → 400 bad_request, "action" (POST actions) → 400 action_failed,
    "webhook" → 400 webhook_failed; a NotFoundError is 404 not_found everywhere.
    """
    if isinstance(exc, NotFoundError):
        return error_response(404, action, "not_found", exc.message, exc.hint)
    code = {"read": "bad_request", "action": "action_failed", "webhook": "webhook_failed"}.get(kind, "bad_request")
    return error_response(400, action, code, exc.message, exc.hint)


def plain(data: Any) -> Any:
    """What ops return (dataclasses, pydantic models, lists/dicts of them) as JSON-ready values."""
    if data is None or isinstance(data, (str, int, float, bool)):
        return data
    if hasattr(data, "model_dump"):
        return data.model_dump(mode="json")
    if hasattr(data, "to_dict"):
        return plain(data.to_dict())
    if hasattr(data, "__dataclass_fields__"):
        from dataclasses import asdict

        return plain(asdict(data))
    if isinstance(data, dict):
        return {str(k): plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple, set)):
        return [plain(v) for v in data]
    return str(data)
