"""The SDLC loop as a supervisor part of `tt serve` (`[loop] autostart = true`).

The driver itself is `tutti.loop.driver`; `tutti.ops.loop` keeps one loop per workspace in a
server, so the part and `POST /v1/actions/loop` never start a second one. The part starts the
loop, restarts it if it ends while the server runs (an error is on the event stream as
`loop.item.finished` / `loop.intake_error`), and stops it with the server.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutti.workspace import Workspace

CHECK_SECS = 5.0


def supervise_loop(ws: Workspace, stop: threading.Event, *, host: str = "serve") -> None:
    from tutti.errors import TuttiError
    from tutti.ops.loop import loop_status, start_loop, stop_loop

    while not stop.is_set():
        if not loop_status(ws)["running"]:
            try:
                start_loop(ws)
            except TuttiError as exc:  # a config problem: say so once per attempt, retry slowly
                ws.store.append_event(f"{host}.loop_failed", data={"error": exc.message})
                stop.wait(CHECK_SECS * 12)
                continue
        stop.wait(CHECK_SECS)
    stop_loop(ws)
