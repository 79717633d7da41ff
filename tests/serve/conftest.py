"""A real uvicorn server on 127.0.0.1 (ephemeral port, in a thread) over real workspaces."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

BASE_TOML = """
[workspace]
name = "{name}"

[defaults]
worktree = false

[[agent]]
name = "planner"
runtime = "fake"

[[agent]]
name = "builder"
runtime = "fake"

[observe]
dashboard = true

[[workflow]]
name = "check"
description = "command-only pipeline"

[[workflow.step]]
id = "lint"
type = "command"
run = "true"

[[workflow.step]]
id = "test"
type = "command"
run = "true"
"""


def write_workspace(root: Path, name: str = "demo", extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "tutti.toml").write_text(BASE_TOML.format(name=name) + extra)
    return root


def load(root: Path):
    from tutti.workspace import load_workspace_at

    return load_workspace_at(root)


@contextmanager
def serving(workspaces, *, token=None, dashboard=True, keepalive_secs=15.0):
    import uvicorn

    from tutti.serve.app import create_app

    app = create_app(workspaces, token=token, dashboard=dashboard, keepalive_secs=keepalive_secs)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def workspace(git_repo):
    return load(write_workspace(git_repo))


@pytest.fixture
def server(workspace):
    with serving([workspace]) as url:
        yield url


@pytest.fixture
def client(server):
    import httpx

    with httpx.Client(base_url=server, timeout=30) as c:
        yield c
