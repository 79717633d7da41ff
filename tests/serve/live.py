"""Helpers for HTTP tests: a real uvicorn server on 127.0.0.1 (ephemeral port, in a thread) over
real workspaces, and an SSE frame reader."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path

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

[[workflow]]
name = "slow"

[[workflow.step]]
id = "wait"
type = "command"
run = "sleep 60"
"""


def write_workspace(root: Path, name: str = "demo", extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "tutti.toml").write_text(BASE_TOML.format(name=name) + extra)
    return root


def load(root: Path):
    from tutti.workspace import load_workspace_at

    return load_workspace_at(root)


class Served(str):
    """The base URL, carrying the app so tests can look at server-side state."""

    app = None


@contextmanager
def serving(workspaces, *, token=None, dashboard=True, **options):
    import uvicorn

    from tutti.serve.app import create_app

    app = create_app(workspaces, token=token, dashboard=dashboard, **options)
    from tutti.cli.serve_cmd import _bind

    sock = _bind("127.0.0.1", 0)  # the socket `tt serve` listens on (TCP proto: Nagle off)
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
        url = Served(f"http://127.0.0.1:{port}")
        url.app = app
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class SSEReader:
    """Parses `text/event-stream` frames from a streaming httpx response."""

    def __init__(self, response) -> None:
        self.response = response
        self.lines = response.iter_lines()
        self.comments: list[str] = []

    def next_frame(self) -> dict:
        frame: dict = {}
        for line in self.lines:
            if line == "":
                if frame:
                    return frame
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            frame[name] = value.removeprefix(" ")
        raise EOFError("stream closed")

    def next_event(self) -> dict:
        """The next frame that carries an event (skips nothing else: ids are checked by callers)."""
        import json

        frame = self.next_frame()
        if "data" in frame:
            frame["json"] = json.loads(frame["data"])
        return frame
