"""A scripted fake model server on 127.0.0.1: rehearse providers and agent CLIs offline.

Speaks OpenAI Chat Completions (`/v1/chat/completions`), OpenAI Responses (`/v1/responses`),
Anthropic Messages (`/v1/messages`) and Gemini (`/v1beta/models/{m}:generateContent` and
`:streamGenerateContent`), streaming or not, with tool calls — driven by a `Script` of turns.

Control endpoints (JSON):
- `GET  /_control/requests`  the request log (what clients sent, which turn they got);
- `GET  /_control/state`     turn cursor, mode, counts;
- `POST /_control/mode`      `{"mode": "normal"|"auth"|"rate_limit"|"quota"|"server_error"|
                              "unavailable"|"overloaded"|"hang"|"stall"|"malformed"|"context"|<status>,
                              "retry_after": "2", "times": 0, "from_turn": 1}`;
- `POST /_control/script`    replace the script (and reset the cursor);
- `POST /_control/reset`     cursor to 0, log cleared, mode normal.

In-process: ``with ScriptedModelServer(script) as srv: srv.base_url``.
CLI: ``python -m tutti.testing.model_server script.toml --port 0`` prints the base URL.
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

from tutti.testing import model_faults as faults
from tutti.testing import model_wire as wire
from tutti.testing.http_double import ThreadedHTTPDouble
from tutti.testing.model_script import Failure, Script, Turn

_GEMINI = re.compile(r"/models/(?P<model>[^/:]+):(?P<op>generateContent|streamGenerateContent|countTokens)$")


@dataclass
class LoggedRequest:
    seq: int
    ts: float
    method: str
    path: str
    protocol: str
    model: str | None
    stream: bool
    body: Any
    headers: dict[str, str]
    api_key: str | None
    turn: int | None = None
    status: int = 200
    client_port: int = 0  # the client's TCP port: equal ports = a reused keep-alive connection

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ScriptedModelServer(ThreadedHTTPDouble):
    thread_name = "scripted-model-server"

    def __init__(
        self, script: Script | dict | list | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.script = script if isinstance(script, Script) else Script.parse(script or {})
        self._lock = threading.Lock()
        self.cursor = 0
        self.log: list[LoggedRequest] = []
        self.mode: Failure | None = None
        self._mode_left = 0
        self._turn_failures: dict[int, int] = {}
        self._played: set[int] = set()
        self.release = threading.Event()  # wakes hanging requests at shutdown
        self._serve(_QuietServer((host, port), _make_handler(self)))

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL (with /v1); Anthropic clients may use `url` or this."""
        return self.url + "/v1"

    # -- control --------------------------------------------------------------------------------
    def set_mode(
        self,
        mode: str | int | dict | None,
        *,
        retry_after: str | None = None,
        times: int = 0,
        from_turn: int | None = None,
    ) -> None:
        with self._lock:
            if mode in (None, "normal", "ok"):
                self.mode, self._mode_left = None, 0
                return
            raw = dict(mode) if isinstance(mode, dict) else {"kind": str(mode)}
            raw.setdefault("retry_after", retry_after)
            raw.setdefault("times", times)
            raw.setdefault("from_turn", from_turn)
            self.mode = Failure.parse(raw)
            self._mode_left = self.mode.times

    def load(self, script: Script | dict | list) -> None:
        with self._lock:
            self.script = script if isinstance(script, Script) else Script.parse(script)
            self.cursor = 0
            self._turn_failures.clear()
            self._played.clear()

    def reset(self) -> None:
        with self._lock:
            self.cursor, self.mode, self._mode_left = 0, None, 0
            self.log.clear()
            self._turn_failures.clear()
            self._played.clear()

    def requests(self, protocol: str | None = None) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.log if protocol is None or r.protocol == protocol]

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "cursor": self.cursor,
                "turns": len(self.script.turns),
                "requests": len(self.log),
                "mode": None if self.mode is None else self.mode.kind,
            }

    # -- the decision for one model request ------------------------------------------------------
    def next_action(
        self, offers_tools: bool, prompt: str = ""
    ) -> tuple[Turn | None, Failure | None, int | None]:
        """(turn to play, failure to send instead, turn index). `prompt` is the request's
        latest user text, for turns with `match`."""
        with self._lock:
            if self.mode is not None and self._mode_applies(offers_tools, prompt):
                failure = self.mode
                if self._mode_left:
                    self._mode_left -= 1
                    if self._mode_left == 0:
                        self.mode = None
                return None, failure, None
            if self.script.tool_requests_only and not offers_tools:
                return self.script.fallback, None, None
            index = self._pick(prompt)
            if index is None:
                return self.script.fallback, None, None
            turn = self.script.turns[index]
            if turn.fail is not None:
                failed = self._turn_failures.get(index, 0)
                if turn.fail.times == 0 or failed < turn.fail.times:
                    self._turn_failures[index] = failed + 1
                    return None, turn.fail, index
            self._played.add(index)
            while self.cursor < len(self.script.turns) and (
                self.cursor in self._played or self.script.turns[self.cursor].match
            ):
                self.cursor += 1
            return turn, None, index

    def _mode_applies(self, offers_tools: bool, prompt: str) -> bool:
        """Does the runtime mode fail this request? (caller holds the lock)"""
        assert self.mode is not None
        if self.mode.from_turn is None:
            return True
        if self.script.tool_requests_only and not offers_tools:
            return False  # a side request: it never reaches a turn
        index = self._pick(prompt)
        return (len(self.script.turns) if index is None else index) >= self.mode.from_turn

    def _pick(self, prompt: str) -> int | None:
        """A matching `match` turn first, else the next turn in order (caller holds the lock)."""
        turns = self.script.turns
        if prompt:
            for i, t in enumerate(turns):
                if t.match and i not in self._played and re.search(t.match, prompt):
                    return i
        i = self.cursor
        while i < len(turns) and (i in self._played or turns[i].match):
            i += 1
        return i if i < len(turns) else None

    def record(self, entry: LoggedRequest) -> LoggedRequest:
        with self._lock:
            entry.seq = len(self.log) + 1
            self.log.append(entry)
        return entry


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self):  # type: ignore[no-untyped-def]
        conn, addr = super().get_request()
        # Small SSE frames must not wait for delayed ACKs (Nagle): ~40 ms per frame otherwise.
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        # Clients closing keep-alive connections (or giving up on a hang) are normal here.
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def _usage_for(turn: Turn, body: Any) -> dict[str, int]:
    u = dict(turn.usage or {})
    approx_in = max(1, len(json.dumps(body)) // 4)
    approx_out = max(1, (len(turn.text) + sum(len(json.dumps(c.arguments)) for c in turn.tool_calls)) // 4)
    return {
        "input_tokens": int(u.get("input_tokens", approx_in)),
        "output_tokens": int(u.get("output_tokens", approx_out)),
        "cached_tokens": int(u.get("cached_tokens", 0)),
    }


_NOT_FOUND = "not_found"


def _route(path: str, body: Any) -> tuple[str, str | None, bool] | tuple[None, int, Any]:
    """(protocol, model, stream) of a model request, or (None, status, body) to answer at once."""
    gem = _GEMINI.search(path)
    if path.endswith("/chat/completions"):
        return "openai_chat", body.get("model"), bool(body.get("stream"))
    if path.endswith("/responses"):
        return "openai_responses", body.get("model"), bool(body.get("stream"))
    if path.endswith("/messages/count_tokens"):
        return None, 200, {"input_tokens": max(1, len(json.dumps(body)) // 4)}
    if path.endswith("/messages"):
        return "anthropic", body.get("model"), bool(body.get("stream"))
    if gem and gem["op"] == "countTokens":
        return None, 200, {"totalTokens": max(1, len(json.dumps(body)) // 4)}
    if gem:
        return "gemini", gem["model"], gem["op"] == "streamGenerateContent"
    return None, 404, {"error": {"message": f"no route {path}", "type": _NOT_FOUND}}


def _wire_family(protocol: str) -> str:
    return protocol if protocol in ("anthropic", "gemini") else "openai"


class _Plumbing(BaseHTTPRequestHandler):
    """HTTP framing shared by every route: JSON bodies and chunked SSE."""

    protocol_version = "HTTP/1.1"
    server_version = "TuttiScriptedModel/1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _body(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return {"_raw": raw.decode("utf-8", "replace")}

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)

    def _sse_start(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def _frames(self, events: wire.Events, *, end: bool = False, delay_ms: int = 0) -> None:
        """Write SSE frames as HTTP chunks (each flushed on its own when paced)."""
        pending: list[bytes] = []
        for name, data in events:
            text = data if isinstance(data, str) else json.dumps(data)
            raw = ((f"event: {name}\n" if name else "") + f"data: {text}\n\n").encode()
            pending.append(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
            if delay_ms:  # paced streaming: each frame on its own, then a pause
                self.wfile.write(b"".join(pending))
                pending.clear()
                time.sleep(delay_ms / 1000)
        if end:
            pending.append(b"0\r\n\r\n")
        self.wfile.write(b"".join(pending))
        self.wfile.flush()

    def _sse(self, events: wire.Events, delay_ms: int = 0) -> None:
        self._sse_start()
        self._frames(events, end=True, delay_ms=delay_ms)


def _make_handler(server: ScriptedModelServer) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_ModelHandler,), {"scripted": server})


class _ModelHandler(_Plumbing):
    """Routes of the model server; `scripted` is the ScriptedModelServer it answers for."""

    scripted: ScriptedModelServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/_control/requests":
            return self._json(200, [r.to_dict() for r in self.scripted.requests()])
        if path == "/_control/state":
            return self._json(200, self.scripted.state())
        if path in ("/health", "/healthz"):
            return self._json(200, {"ok": True})
        if path.endswith("/models"):
            models = {
                "object": "list",
                "data": [{"id": "scripted-model", "object": "model", "owned_by": "tutti"}],
                "models": [{"name": "models/scripted-model"}],
            }
            return self._json(200, models)
        self._json(404, {"error": {"message": f"no route {path}", "type": _NOT_FOUND}})

    def do_POST(self) -> None:
        path, _, query = self.path.partition("?")
        body = self._body()
        if path.startswith("/_control/"):
            return self._control(path, body)
        protocol, model, stream = _route(path, body)
        if protocol is None:
            return self._json(model, stream)  # (None, status, body): answered at once
        entry = self.scripted.record(self._logged(protocol, model, stream, body))
        turn, failure, index = self.scripted.next_action(
            _offers_tools(protocol, body), wire.last_user_text(protocol, body)
        )
        entry.turn = index
        if failure is not None:
            entry.status = faults.status_for(protocol, failure)
            return self._fail(protocol, failure, model or "scripted-model", stream, entry.seq)
        assert turn is not None
        schema = wire.wanted_json_schema(protocol, body) if turn is self.scripted.script.fallback else None
        if schema is not None:
            # An unscripted side request that wants JSON gets JSON, not the fallback prose.
            turn = Turn(text=json.dumps(wire.json_example(schema)), usage=turn.usage)
        if turn.delay_ms and not stream:
            time.sleep(turn.delay_ms / 1000)
        self._play(protocol, turn, model or "scripted-model", stream, body, entry.seq, query)

    def _logged(self, protocol: str, model: str | None, stream: bool, body: Any) -> LoggedRequest:
        key = (
            self.headers.get("authorization", "").removeprefix("Bearer ").strip()
            or self.headers.get("x-api-key")
            or self.headers.get("x-goog-api-key")
            or None
        )
        headers = {k.lower(): v for k, v in self.headers.items() if k.lower() not in _KEY_HEADERS}
        return LoggedRequest(
            0,
            time.time(),
            "POST",
            self.path,
            protocol,
            model,
            stream,
            body,
            headers,
            key,
            client_port=self.client_address[1],
        )

    def _control(self, path: str, body: Any) -> None:
        try:
            if path == "/_control/mode":
                from_turn = body.get("from_turn")
                self.scripted.set_mode(
                    body.get("mode"),
                    retry_after=body.get("retry_after"),
                    times=int(body.get("times", 0)),
                    from_turn=None if from_turn is None else int(from_turn),
                )
            elif path == "/_control/script":
                self.scripted.load(body)
            elif path == "/_control/reset":
                self.scripted.reset()
            else:
                return self._json(404, {"error": {"message": f"no control route {path}"}})
        except (ValueError, KeyError, TypeError) as exc:
            return self._json(400, {"error": {"message": str(exc)}})
        self._json(200, self.scripted.state())

    def _fail(self, protocol: str, failure: Failure, model: str, stream: bool, seq: int) -> None:
        if failure.kind == "hang" or (failure.kind == "stall" and not stream):
            # Hold the connection without answering until the client gives up or we stop.
            self.scripted.release.wait(failure.hang_secs)
            self.close_connection = True
            return
        if failure.kind == "stall":
            return self._stall(protocol, model, seq, failure.hang_secs)
        if failure.kind == "malformed":
            return self._malformed(protocol, model, seq, stream)
        if failure.kind == "context" and protocol == "openai_responses" and stream:
            return self._sse(faults.context_failed_events(model, seq, failure))
        headers = {"retry-after": failure.retry_after} if failure.retry_after is not None else {}
        body = faults.error_body(_wire_family(protocol), failure)
        self._json(faults.status_for(protocol, failure), body, headers)

    def _stall(self, protocol: str, model: str, seq: int, secs: float) -> None:
        """A hung stream: headers and the first frames, then silence, then a dropped connection."""
        self._sse_start()
        self._frames(faults.stream_opening(protocol, model, seq))
        self.scripted.release.wait(secs)
        self.close_connection = True

    def _malformed(self, protocol: str, model: str, seq: int, stream: bool) -> None:
        if not stream:
            payload = b'{"id": "broken", "choices": [{"mess'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self._sse_start()
        self._frames([*faults.stream_opening(protocol, model, seq), faults.malformed_frame(protocol)])
        self._frames([], end=True)  # the stream ends cleanly at HTTP level, without its closing event

    def _play(
        self, protocol: str, turn: Turn, model: str, stream: bool, body: Any, seq: int, query: str
    ) -> None:
        usage = _usage_for(turn, body)
        if not stream:
            return self._json(200, _RESPONSES[protocol](turn, model, usage, seq))
        if protocol == "openai_chat":
            include = bool((body.get("stream_options") or {}).get("include_usage"))
            return self._sse(wire.chat_events(turn, model, usage, seq, include), turn.delay_ms)
        events = _EVENTS[protocol](turn, model, usage, seq)
        if protocol == "gemini" and "alt=sse" not in query:
            return self._json(200, [data for _, data in events])  # without alt=sse: one JSON array
        return self._sse(events, turn.delay_ms)


_KEY_HEADERS = ("authorization", "x-api-key", "x-goog-api-key")
_RESPONSES = {
    "openai_chat": wire.chat_response,
    "openai_responses": wire.responses_response,
    "anthropic": wire.messages_response,
    "gemini": wire.gemini_response,
}
_EVENTS = {
    "openai_responses": wire.responses_events,
    "anthropic": wire.messages_events,
    "gemini": wire.gemini_events,
}


def _offers_tools(protocol: str, body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    return bool(body.get("tools"))


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m tutti.testing.model_server",
        description="Scripted fake model server (OpenAI, Anthropic, Gemini) on 127.0.0.1",
    )
    parser.add_argument(
        "script", nargs="?", help="script of turns (.json or .toml); default: always answer 'Done.'"
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = ephemeral)")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    args = parser.parse_args(argv)
    try:
        script = Script.load(Path(args.script)) if args.script else Script()
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: cannot load script {args.script}: {exc}", flush=True)
        return 2
    server = ScriptedModelServer(script, host=args.host, port=args.port)
    print(f"scripted model server listening on {server.url} (OpenAI base URL {server.base_url})", flush=True)
    try:
        server._httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.release.set()
        server._httpd.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
