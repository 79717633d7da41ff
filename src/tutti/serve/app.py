"""The ASGI application of `tt serve`: control API, SSE stream, login and the static dashboard.

`create_app` takes the workspaces explicitly (many per process, addressed by name, no chdir).
All errors become the `{ok, action, error, data}` envelope in the handlers registered here.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tutti import __version__
from tutti.errors import TuttiError, UsageError
from tutti.serve import actions, auth, insights, messages_api, reads, webhooks
from tutti.serve.context import ServeContext
from tutti.serve.envelope import ApiError, error_response, from_tutti_error, ok

if TYPE_CHECKING:
    from tutti.workspace import Workspace

STATIC_DIR = Path(__file__).parent / "static"


def create_app(workspaces: list[Workspace], *, token: str | None, dashboard: bool,
               keepalive_secs: float = 15.0, poll_secs: float = 0.05, queue_size: int = 2000,
               watch: bool = False, schedule_interval_secs: float = 15.0) -> FastAPI:
    """The API app. `watch`: also watch agent sessions and fire workflow schedules in background
    threads (what `tt serve` does; tests that only read the store leave it off)."""
    names = [ws.name for ws in workspaces]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise UsageError(f"two served workspaces are both named '{dup}'",
                         hint="give each workspace a unique [workspace].name in its tutti.toml")
    ctx = ServeContext({ws.name: ws for ws in workspaces}, token=token, dashboard=dashboard,
                       keepalive_secs=keepalive_secs, poll_secs=poll_secs, queue_size=queue_size)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        background = None
        if watch:
            from tutti.serve import interrupted
            from tutti.serve.background import Background

            for ws in workspaces:  # crash safety (#13): runs a previous server left behind go on
                interrupted.announce(ws)
            interrupted.resume_left_behind(list(workspaces))
            background = Background(list(workspaces), schedule_interval_secs=schedule_interval_secs)
            background.start()
        try:
            yield
        finally:
            if watch:
                interrupted.interrupt_active(list(workspaces))
            if background is not None:
                background.close()
            for hub in ctx.hubs.values():
                await hub.close()

    app = FastAPI(title="Tutti control API", version=__version__,
                  description="Envelope `{ok, action, error, data}` on every response.",
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.ctx = ctx
    app.add_middleware(auth.GuardMiddleware, token=token)
    _error_handlers(app)
    app.include_router(reads.router)
    app.include_router(insights.router)
    app.include_router(messages_api.router)
    app.include_router(actions.router)
    app.include_router(webhooks.router)
    _stream_route(app)
    _login_routes(app)
    if dashboard:
        _dashboard_routes(app)
    else:
        _dashboard_off_route(app)
    return app


def _dashboard_off_route(app: FastAPI) -> None:
    # A browser pointed at the printed URL should learn how to get the page, not "unknown endpoint".
    @app.get("/", include_in_schema=False)
    async def index_off():
        return error_response(404, "dashboard", "not_found",
                              "the dashboard is off: set [observe] dashboard = true in tutti.toml "
                              "and restart `tt serve` (the API is under /v1, its schema at /openapi.json)")


def _action(request: Request, default: str = "route") -> tuple[str, str]:
    return getattr(request.state, "action", default), getattr(request.state, "kind", "read")


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TuttiError)
    async def tutti_error(request: Request, exc: TuttiError):
        action, kind = _action(request)
        return from_tutti_error(exc, action, kind)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.action or _action(request)[0], exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        action, kind = _action(request)
        code = "action_failed" if kind == "action" else "bad_request"
        return error_response(400, action, code, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code in (404, 405):
            return error_response(404, "route", "not_found", f"unknown endpoint: {request.method} {request.url.path}")
        return error_response(exc.status_code, _action(request)[0], "bad_request", str(exc.detail))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception):
        # A bug, not a user error: still an envelope, never a bare traceback page.
        return error_response(500, _action(request)[0], "internal_error", f"{type(exc).__name__}: {exc}")


def _validation_message(exc: RequestValidationError) -> str:
    first = exc.errors()[0]
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    field = ".".join(loc)
    if first.get("type") == "missing":
        return f"missing required field '{field}'" if field else "missing request body (a JSON object)"
    if first.get("type") in {"json_invalid", "model_attributes_type", "dict_type"} or not field:
        return "request body must be a JSON object"
    if first.get("type") == "extra_forbidden":
        return f"unknown field '{field}'"
    return f"invalid field '{field}': {first.get('msg')}"


def _stream_route(app: FastAPI) -> None:
    from tutti.serve import sse

    @app.get("/v1/events/stream", tags=["read"], response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}}})
    async def events_stream(
        request: Request,
        workspace: str | None = Query(None, description="stream one workspace; default all served"),
        cursor: str | None = Query(None, description="last seen seq (0 = replay all) or RFC3339 time"),
        kinds: str | None = Query(None, description="comma-separated kinds, `agent.*` prefixes"),
        timeout_secs: float | None = Query(None, ge=1, le=86400),
        as_message: bool = Query(False, description="omit `event:` lines so every frame reaches onmessage"),
    ):
        request.state.action = "events.stream"
        ctx: ServeContext = request.app.state.ctx
        selected = ctx.selected(workspace)
        names = [ws.name for ws in selected]
        cursors: dict[str, int | None] = {}
        resume = sse.parse_resume_id(request.headers.get("last-event-id"), names)
        for ws in selected:
            raw = resume.get(ws.name, cursor)
            cursors[ws.name] = sse.parse_cursor(raw, ws.store)
        spec = sse.StreamSpec(selected, cursors, kinds=[k for k in (kinds or "").split(",") if k] or None,
                              named=not as_message, keepalive_secs=ctx.keepalive_secs, timeout_secs=timeout_secs)
        hubs = [ctx.hub(ws) for ws in selected]
        return StreamingResponse(sse.stream(spec, hubs), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _login_routes(app: FastAPI) -> None:
    @app.get("/login", include_in_schema=False)
    async def login_page(request: Request, token: str | None = None):
        ctx: ServeContext = request.app.state.ctx
        if ctx.token is None:
            return RedirectResponse("/", status_code=303)
        if token is None:
            return HTMLResponse(LOGIN_HTML)
        return _login(ctx.token, token)

    @app.post("/login", include_in_schema=False)
    async def login_form(request: Request):
        ctx: ServeContext = request.app.state.ctx
        if ctx.token is None:
            return RedirectResponse("/", status_code=303)
        from urllib.parse import parse_qs

        fields = parse_qs((await request.body()).decode("utf-8", "replace"))
        return _login(ctx.token, (fields.get("token") or [""])[0])


def _login(expected: str, given: str) -> Response:
    import hmac

    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return error_response(401, "auth", "unauthorized", "invalid or missing bearer token")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(auth.COOKIE_NAME, auth.session_value(expected), httponly=True, samesite="strict",
                        path="/", max_age=30 * 24 * 3600)
    return response


def _dashboard_routes(app: FastAPI) -> None:
    from tutti.serve import dashboard_views

    app.include_router(dashboard_views.router)

    @app.get("/", include_in_schema=False)
    def index(request: Request):
        # Server-rendered first paint: stations and runs are in the HTML, before any SSE.
        page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
        return HTMLResponse(dashboard_views.first_paint(request.app.state.ctx, page),
                            headers={"Cache-Control": "no-cache"})

    @app.get("/static/{name}", include_in_schema=False)
    async def asset(name: str):
        path = STATIC_DIR / name
        from tutti.paths import inside

        if "/" in name or not path.is_file() or not inside(STATIC_DIR, path):
            return error_response(404, "dashboard", "not_found", f"no dashboard asset '{name}'")
        return FileResponse(path, headers={"Cache-Control": "no-cache"})

    @app.get("/v1/dashboard", tags=["read"])
    async def dashboard_info(request: Request):
        ctx: ServeContext = request.app.state.ctx
        latest = {name: ws.store.latest_seq() for name, ws in ctx.workspaces.items()}
        return ok("dashboard", {"workspaces": sorted(ctx.workspaces), "auth": ctx.token is not None,
                                "latest_seq": latest})


LOGIN_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tutti — sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{background:#0a0f1e;color:#e5e7eb;font:15px system-ui,sans-serif;display:grid;place-items:center;
min-height:100vh;margin:0}form{background:#111827;padding:2rem;border-radius:12px;display:grid;gap:.8rem;
min-width:18rem}input,button{font:inherit;padding:.6rem;border-radius:8px;border:1px solid #374151;
background:#0a0f1e;color:inherit}button{background:#6366f1;border:0;cursor:pointer}</style></head>
<body><form method="post" action="/login"><h1 style="margin:0;font-size:1.3rem">Tutti</h1>
<label for="token">Server token (see the file printed by <code>tt serve</code>)</label>
<input id="token" name="token" type="password" autocomplete="off" required data-testid="login-token">
<button type="submit" data-testid="login-submit">Sign in</button></form></body></html>"""
