"""Providers retry 429/5xx honouring Retry-After, and a provider that stays down fails over."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from tutti.direct.messages import Message
from tutti.direct.providers import ProviderCallError, ProviderSettings, build_provider
from tutti.direct.providers.base import parse_retry_after
from tutti.ops.direct import send_direct

from .conftest import api_profile, events


def test_429_with_retry_after_is_retried_after_the_delay(direct_ws, model_server):
    srv = model_server(
        {"turns": [{"fail": {"status": 429, "retry_after": "1", "times": 1}, "text": "hello"}]}
    )
    ws = direct_ws('[[agent]]\nname = "bot"\nprovider = "main"\nworktree = false\n', api_profile("main", srv))
    result = send_direct(ws, "bot", "hi")
    assert result.ok and result.final_text == "hello"
    reqs = srv.requests()
    assert [r.status for r in reqs] == [429, 200]
    gap = reqs[1].ts - reqs[0].ts
    assert 0.9 <= gap < 10, gap  # waited what the server asked, not the 20 ms backoff
    retry = [e.data for e in events(ws, result.run_id) if e.kind == "direct.provider_retry"]
    assert retry and retry[0]["status"] == 429 and retry[0]["retry_after"] == 1.0
    model_call = next(e.data for e in events(ws, result.run_id) if e.kind == "direct.model_call")
    assert model_call["attempts"] == 2


def test_retry_after_accepts_an_http_date():
    now = time.time()
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1.5)
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(formatdate(now - 100, usegmt=True), now=now) == 0.0


def test_a_provider_that_stays_down_fails_over_to_the_next_profile(direct_ws, model_server):
    down = model_server()
    down.set_mode("unavailable")  # 503 on every request, forever
    up = model_server({"turns": [{"text": "served by the fallback"}]})
    ws = direct_ws(
        '[[agent]]\nname = "bot"\nprovider = "primary"\nworktree = false\n',
        api_profile("primary", down, priority=1)
        + api_profile("secondary", up, kind="anthropic", model="claude-haiku-4-5", priority=2),
    )
    result = send_direct(ws, "bot", "hi")
    assert result.ok and result.final_text == "served by the fallback"
    assert len(down.requests()) >= 2 and all(r.status == 503 for r in down.requests())
    assert len(up.requests()) == 1
    evs = events(ws, result.run_id)
    failover = [e.data for e in evs if e.kind == "direct.provider_failover"]
    assert len(failover) == 1 and failover[0]["from_profile"] == "primary"
    assert failover[0]["to_profile"] == "secondary" and failover[0]["reason"] == "unavailable"
    call = next(e.data for e in evs if e.kind == "direct.model_call")
    assert call["profile"] == "secondary" and call["model"] == "claude-haiku-4-5"


def test_quota_exhaustion_fails_over_without_retrying(direct_ws, model_server):
    broke = model_server()
    broke.set_mode("quota")
    up = model_server({"turns": [{"text": "ok"}]})
    ws = direct_ws(
        '[[agent]]\nname = "bot"\nprovider = "primary"\nworktree = false\n',
        api_profile("primary", broke, priority=1) + api_profile("secondary", up, priority=2),
    )
    result = send_direct(ws, "bot", "hi")
    assert result.ok
    assert len(broke.requests()) == 1  # quota is not transient: no retries
    failover = [e.data for e in events(ws, result.run_id) if e.kind == "direct.provider_failover"]
    assert failover[0]["reason"] == "quota"


def test_when_every_profile_is_down_the_run_fails_with_a_provider_error(direct_ws, model_server):
    down = model_server()
    down.set_mode("server_error")
    ws = direct_ws(
        '[[agent]]\nname = "bot"\nprovider = "primary"\nworktree = false\n', api_profile("primary", down)
    )
    result = send_direct(ws, "bot", "hi")
    assert result.status == "failed" and result.error["category"] == "provider"
    assert "HTTP 500" in result.error["message"]
    assert [e.kind for e in events(ws, result.run_id)][-1] == "direct.run.failed"
    run = ws.store.query("SELECT status FROM runs WHERE run_id = ?", (result.run_id,))[0]
    assert run["status"] == "failed"


def test_a_hanging_provider_times_out_instead_of_blocking(model_server):
    srv = model_server()
    srv.set_mode({"kind": "hang", "hang_secs": 30})
    provider = build_provider(
        ProviderSettings(
            kind="openai",
            model="gpt-4o",
            base_url=srv.base_url,
            timeout_secs=0.5,
            max_retries=1,
            initial_backoff_secs=0.01,
        )
    )
    started = time.monotonic()
    with pytest.raises(ProviderCallError) as info:
        provider.complete([Message.user("hi")], [])
    assert info.value.reason == "unavailable" and "no response within" in info.value.message
    assert time.monotonic() - started < 10
    assert len(srv.requests()) == 2


def test_a_bad_request_is_not_retried_or_failed_over(model_server):
    srv = model_server()
    srv.set_mode({"kind": "server_error", "status": 400})
    provider = build_provider(ProviderSettings(kind="anthropic", model="m", base_url=srv.url, max_retries=3))
    with pytest.raises(ProviderCallError) as info:
        provider.complete([Message.user("hi")], [])
    assert info.value.reason == "bad_request" and not info.value.failover
    assert len(srv.requests()) == 1


def test_cancel_during_a_retry_wait_stops_the_run_promptly(direct_ws, model_server):
    import threading

    srv = model_server()
    srv.set_mode({"kind": "rate_limit", "retry_after": "30"})
    ws = direct_ws('[[agent]]\nname = "bot"\nprovider = "main"\nworktree = false\n', api_profile("main", srv))
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    result = send_direct(ws, "bot", "hi", cancel=cancel)
    assert (result.status, result.stop_reason) == ("stopped", "cancelled")
    assert time.monotonic() - started < 10  # did not sit out the 30 s Retry-After
