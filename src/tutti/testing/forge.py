"""A scripted forge on 127.0.0.1: GitHub (REST v3 + GraphQL subset), Linear and Jira, offline.

Real HTTP, real git: every GitHub repository is a bare repository under `ROOT/git/`, and its
`clone_url` is that path — clients push and fetch with plain git, and merging a PR is a real
merge in the bare repository. State (issues, comments, PRs, reviews, threads, checks, Linear
and Jira issues) is persisted to `ROOT/forge.json` after every change, so a forge restarted on
the same ROOT carries on, and a test can read what clients did.

Endpoints: GitHub at `/` (`GITHUB_API_URL=srv.url`; GraphQL at `/graphql`), Linear GraphQL at
`/linear/graphql`, Jira REST v3 at `/jira/rest/api/3/...`.

Auth: `Authorization: Bearer|token|Basic T` or a bare key (as Linear sends it). `srv.add_token(T, login, type)` maps a token to a user;
with no tokens added, any token is accepted as user `octo`. No token → 401.

Control (JSON, no auth):
- `POST /_control/repos {"full_name", "default_branch"}` → repo (with `clone_url`);
- `POST /_control/issues {"repo", "title", "body", "labels", "milestone", "user"}`;
- `POST /_control/tokens {"token", "login", "type"}`;
- `POST /_control/fail {"mode": "401"|"rate_limit"|"5xx"|"slow"|<status>, "times": N,
   "retry_after": secs, "delay": secs, "path": regex}` — the next N matching requests fail
   (times 0 = until cleared); `POST /_control/fail {"mode": "normal"}` clears;
- `GET /_control/requests` (method, path, status, user of each request), `GET /_control/state`.

In-process: ``with ScriptedForge(tmp_path) as srv: srv.url``.
CLI: ``python -m tutti.testing.forge --root DIR --port 0`` prints the base URL, then serves.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tutti.testing.forge_github import GitHubState, Reply, Request
from tutti.testing.forge_github_api import dispatch
from tutti.testing.forge_trackers import JiraState, LinearState
from tutti.testing.http_double import ThreadedHTTPDouble

STATE_FILE = "forge.json"


@dataclass
class Failure:
    mode: str
    times: int = 1  # 0 = until cleared
    retry_after: float = 1.0
    delay: float = 0.0
    path: re.Pattern | None = None

    def reply(self) -> Reply | None:
        if self.mode == "slow":
            return None
        if self.mode == "401":
            return Reply(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
        if self.mode in ("rate_limit", "403"):
            return Reply(403, {"message": "You have exceeded a secondary rate limit. Please wait a few minutes "
                                          "before you try again."},
                         {"Retry-After": _secs(self.retry_after), "X-RateLimit-Remaining": "0"})
        if self.mode == "429":
            return Reply(429, {"message": "Too Many Requests"}, {"Retry-After": _secs(self.retry_after)})
        status = 502 if self.mode == "5xx" else int(self.mode)
        return Reply(status, {"message": "Server Error"})


def _secs(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class ScriptedForge(ThreadedHTTPDouble):
    thread_name = "scripted-forge"

    def __init__(self, root: Path, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        saved = self._load()
        self.lock = threading.RLock()
        self.github = GitHubState(self.root, saved.get("github"))
        self.linear = LinearState(saved.get("linear"))
        self.jira = JiraState(saved.get("jira"))
        self.tokens: dict[str, dict[str, str]] = saved.get("tokens", {})
        self.failures: list[Failure] = []
        self.log: list[dict[str, Any]] = []
        self.release = threading.Event()
        self._serve(ThreadingHTTPServer((host, port), _make_handler(self)))

    # -- state ----------------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        path = self.root / STATE_FILE
        return json.loads(path.read_text()) if path.exists() else {}

    def save(self) -> None:
        from tutti.fsutil import write_text_atomic

        with self.lock:
            data = {"github": self.github.data, "linear": self.linear.data, "jira": self.jira.data, "tokens": self.tokens}
            write_text_atomic(self.root / STATE_FILE, json.dumps(data, indent=1, default=str))

    # -- seeding helpers (tests call these directly) ------------------------------------------------
    def create_repo(self, full_name: str, *, default_branch: str = "main") -> dict[str, Any]:
        with self.lock:
            meta = self.github.create_repo(full_name, default_branch=default_branch)
            self.save()
            return meta

    def create_issue(self, repo: str, title: str, **kw: Any) -> dict[str, Any]:
        with self.lock:
            issue = self.github.create_issue(repo, title, **kw)
            self.save()
            return self.github.issue_json(repo, issue, self.url)

    def add_token(self, token: str, login: str, type: str = "User") -> None:
        with self.lock:
            self.tokens[token] = {"login": login, "type": type}
            self.save()

    def fail(self, mode: str | int, *, times: int = 1, retry_after: float = 1.0, delay: float = 0.0,
             path: str | None = None) -> None:
        with self.lock:
            if str(mode) in ("normal", "ok", "none"):
                self.failures.clear()
                return
            self.failures.append(Failure(str(mode), times, retry_after, delay, re.compile(path) if path else None))

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.log if path is None or re.search(path, r["path"])]

    def _take_failure(self, path: str) -> Failure | None:
        with self.lock:
            for f in self.failures:
                if f.path is None or f.path.search(path):
                    if f.times > 0:
                        f.times -= 1
                        if f.times == 0:
                            self.failures.remove(f)
                    return f
        return None

    def user_for(self, header: str | None) -> dict[str, str] | None:
        if not header:
            return None
        parts = header.split(None, 1)  # "Bearer T", "token T", "Basic B64", or a bare key (Linear)
        token = parts[1].strip() if len(parts) == 2 and parts[0].lower() in ("bearer", "token", "basic") else \
            (parts[0] if len(parts) == 1 else "")
        if not token:
            return None
        if not self.tokens:
            return {"login": "octo", "type": "User"}
        return self.tokens.get(token)

    # -- request handling -----------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, body: Any, auth: str | None) -> Reply:
        parts = urlsplit(raw_path)
        path, query = parts.path.rstrip("/") or "/", dict(parse_qsl(parts.query))
        if path.startswith("/_control"):
            return self._control(method, path, body)
        failure = self._take_failure(path)
        if failure is not None and failure.delay:
            self.release.wait(failure.delay)
        if failure is not None and failure.reply() is not None:
            return failure.reply()  # type: ignore[return-value]
        user = self.user_for(auth)
        if user is None:
            return Reply(401, {"message": "Requires authentication"})
        req = Request(method, path, query, body, user, self.url)
        with self.lock:
            if path.startswith("/linear/"):
                reply = self.linear.handle(req)
            elif path.startswith("/jira/"):
                reply = self.jira.handle(req)
            else:
                reply = dispatch(self.github, req)
            if reply is None:
                return Reply(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
            if method != "GET" and reply.status < 400:
                self.save()
            return reply

    def _control(self, method: str, path: str, body: Any) -> Reply:
        body = body or {}
        if path == "/_control/repos" and method == "POST":
            return Reply(201, self.create_repo(body["full_name"], default_branch=body.get("default_branch", "main")))
        if path == "/_control/issues" and method == "POST":
            fields = {k: body[k] for k in ("body", "labels", "milestone", "user") if k in body}
            return Reply(201, self.create_issue(body["repo"], body["title"], **fields))
        if path == "/_control/tokens" and method == "POST":
            self.add_token(body["token"], body["login"], body.get("type", "User"))
            return Reply(200, {"ok": True})
        if path == "/_control/fail" and method == "POST":
            self.fail(body.get("mode", "normal"), times=int(body.get("times", 1)), retry_after=float(body.get("retry_after", 1)),
                      delay=float(body.get("delay", 0)), path=body.get("path"))
            return Reply(200, {"failures": len(self.failures)})
        if path == "/_control/requests":
            return Reply(200, self.requests())
        if path == "/_control/state":
            with self.lock:
                return Reply(200, {"github": self.github.data, "linear": self.linear.data, "jira": self.jira.data})
        return Reply(404, {"message": f"unknown control endpoint {path}"})


def _make_handler(forge: ScriptedForge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; without NODELAY, Nagle + the client's
            # delayed ACK add ~40 ms to every keep-alive request.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                self._send(Reply(400, {"message": "Problems parsing JSON"}))
                return
            try:
                reply = forge.handle(self.command, self.path, body, self.headers.get("Authorization"))
            except Exception as exc:  # noqa: BLE001 - a forge bug is a 500, like a real server's
                reply = Reply(500, {"message": f"forge error: {type(exc).__name__}: {exc}"})
            with forge.lock:
                path, _, query = self.path.partition("?")
                forge.log.append({"ts": time.time(), "method": self.command, "path": path, "query": query, "status": reply.status,
                                  "user": (forge.user_for(self.headers.get("Authorization")) or {}).get("login")})
            self._send(reply)

        def _send(self, reply: Reply) -> None:
            data = b"" if reply.body is None else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in reply.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    return Handler


def main(argv: list[str] | None = None) -> int:
    import argparse
    import signal
    import sys

    parser = argparse.ArgumentParser(prog="python -m tutti.testing.forge", description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="directory for forge.json and the bare git repositories")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--repo", action="append", default=[], help="create owner/name at start (repeatable)")
    args = parser.parse_args(argv)
    forge = ScriptedForge(Path(args.root), port=args.port)
    for full_name in args.repo:
        forge.create_repo(full_name)
    forge.start()
    print(forge.url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    forge.stop()
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
