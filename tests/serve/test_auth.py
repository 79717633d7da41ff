"""Bearer auth, the dashboard login cookie, Origin checks, the token file and bind refusal."""

from __future__ import annotations

import os
import stat

import httpx
import pytest

from tutti.serve import auth

from .live import SSEReader, serving

TOKEN = "a" * 64


@pytest.fixture
def secured(workspace):
    with serving([workspace], token=TOKEN) as url:
        yield url


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}])
def test_missing_or_bad_token_is_401(secured, headers):
    r = httpx.get(secured + "/v1/health", headers=headers)
    assert r.status_code == 401
    assert r.json() == {"ok": False, "action": "auth", "data": None,
                        "error": {"code": "unauthorized", "message": "invalid or missing bearer token"}}


def test_bearer_token_is_accepted_everywhere(secured):
    h = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(secured + "/v1/health", headers=h).status_code == 200
    assert httpx.get(secured + "/static/app.js", headers=h).status_code == 200
    assert httpx.get(secured + "/static/app.js").status_code == 401


def test_dashboard_without_credentials_redirects_to_login(secured):
    r = httpx.get(secured + "/", headers={"Accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "data-testid=\"login-token\"" in httpx.get(secured + "/login").text


def test_cookie_login_authorizes_api_and_sse(secured, workspace):
    with httpx.Client(base_url=secured, timeout=30) as c:
        assert c.get("/login", params={"token": "nope"}).status_code == 401
        r = c.get("/login", params={"token": TOKEN})
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert TOKEN not in cookie  # the cookie holds a derived value, not the token
        assert c.get("/v1/health").status_code == 200
        workspace.store.append_event("agent.working", agent="planner")
        with c.stream("GET", "/v1/events/stream", params={"cursor": 0}) as s:
            assert s.status_code == 200
            assert SSEReader(s).next_event()["event"] == "agent.working"


def test_login_form_post_sets_cookie(secured):
    r = httpx.post(secured + "/login", data={"token": TOKEN})
    assert r.status_code == 303 and auth.COOKIE_NAME in r.headers["set-cookie"]


def test_foreign_origin_is_403_and_same_origin_passes(server):
    body = {"workflow": "check", "dry_run": True}
    r = httpx.post(server + "/v1/actions/run", json=body, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert httpx.post(server + "/v1/actions/run", json=body, headers={"Origin": server}).status_code == 200
    assert httpx.post(server + "/v1/actions/run", json=body).status_code == 200  # no Origin: CLI/curl


def test_foreign_origin_cannot_read_with_cookie_either(secured):
    # Reads need credentials; a cross-site page never has our SameSite=Strict cookie.
    assert httpx.get(secured + "/v1/health", headers={"Origin": "https://evil.example"}).status_code == 401


def test_token_file_created_0600_and_reused(tutti_home):
    token = auth.load_or_create_token()
    path = tutti_home / "serve-token"
    assert len(token) == 64 and int(token, 16) >= 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert auth.load_or_create_token() == token
    os.chmod(path, 0o644)
    assert auth.load_or_create_token() == token and stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_token_hint_never_contains_whole_token(tutti_home):
    token = auth.load_or_create_token()
    hint = auth.token_hint(token)
    assert token not in hint and token[:6] in hint and str(tutti_home / "serve-token") in hint


def test_non_loopback_bind_without_auth_is_refused(tt, workspace):
    r = tt("serve", "--bind", "0.0.0.0", "--port", "0", cwd=workspace.root)
    assert r.returncode == 2
    assert "refusing to bind to non-localhost address without authentication" in r.stderr
    assert "Traceback" not in r.stderr


def test_serve_outside_a_workspace_is_a_one_line_error(tt, tmp_path):
    r = tt("serve", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("error[config]: tutti.toml not found")


def test_unauthenticated_server_refuses_non_localhost_host_header(server):
    # DNS rebinding: evil.example resolves to 127.0.0.1, and its page's Origin matches its Host.
    headers = {"Host": "evil.example:4040", "Origin": "http://evil.example:4040"}
    r = httpx.post(server + "/v1/actions/run", json={"workflow": "check", "dry_run": True}, headers=headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert httpx.get(server + "/v1/health", headers={"Host": "evil.example"}).status_code == 403
    assert httpx.get(server + "/v1/health", headers={"Host": "localhost:4040"}).status_code == 200
