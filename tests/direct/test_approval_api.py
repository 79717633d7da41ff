"""A direct run waiting on `requires_approval` is released by the HTTP API's approve action
(real uvicorn on 127.0.0.1, real store, real scripted model server)."""

from __future__ import annotations

import socket
import threading
import time

import httpx

from tutti.ops.direct import pending_approvals, send_direct

from .conftest import api_profile, events


def _serve(ws):
    import uvicorn

    from tutti.serve.app import create_app

    app = create_app([ws], token=None, dashboard=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_pending_approval_is_decided_through_the_http_api(direct_ws, model_server, git_repo):
    srv = model_server(
        {
            "turns": [
                {"tool_calls": [{"name": "shell", "arguments": {"command": "echo via-api"}}]},
                {"text": "done"},
            ]
        }
    )
    ws = direct_ws(
        '[[agent]]\nname = "bot"\nprovider = "main"\nworktree = false\nrequires_approval = ["shell"]\n',
        api_profile("main", srv),
    )
    result: dict = {}
    runner = threading.Thread(target=lambda: result.update(r=send_direct(ws, "bot", "go")), daemon=True)
    runner.start()
    server, thread, url = _serve(ws)
    try:
        deadline = time.monotonic() + 30
        waiting = []
        while time.monotonic() < deadline and not waiting:
            waiting = pending_approvals(ws)
            time.sleep(0.05)
        assert waiting, "no approval was requested"
        a = waiting[0]
        assert (a.tool, a.args) == ("shell", {"command": "echo via-api"})
        response = httpx.post(
            f"{url}/v1/actions/approve",
            json={"run_id": a.run_id, "approval_id": a.approval_id, "approve": True},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert response.json()["ok"] is True
        runner.join(30)
    finally:
        server.should_exit = True
        thread.join(10)
    assert result["r"].ok
    decided = [e.data for e in events(ws, result["r"].run_id) if e.kind == "direct.approval.decided"]
    assert decided[0]["decision"] == "approved" and decided[0]["by"] == "api"
    assert "via-api" in srv.requests()[-1].body["messages"][-1]["content"]
