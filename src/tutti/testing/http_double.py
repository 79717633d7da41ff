"""The lifecycle the HTTP test doubles share (scripted forge, scripted model server, OTLP receiver):
a `ThreadingHTTPServer` on 127.0.0.1 served from a daemon thread, `start()`/`stop()` and `with`."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Self


class ThreadedHTTPDouble:
    """Subclasses build their handler and call `_serve(server)` at the end of `__init__`."""

    thread_name = "http-double"
    _httpd: ThreadingHTTPServer

    def _serve(self, httpd: ThreadingHTTPServer) -> None:
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread: threading.Thread | None = None
        # set at stop(): a handler that hangs on purpose (a stalled stream) waits on it
        self.release = getattr(self, "release", None) or threading.Event()

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        # poll_interval 0.1: stop() returns within ~0.1 s instead of the default 0.5 s
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
