"""`tt loop` and `POST /v1/actions/loop`: run the SDLC loop of a workspace (`tutti.loop`)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from tutti.errors import UsageError

if TYPE_CHECKING:
    from tutti.loop.driver import LoopReport, OnResult
    from tutti.workspace import Workspace

_RUNNING: dict[str, tuple[threading.Thread, threading.Event]] = {}  # workspace root -> background loop
_RUNNING_LOCK = threading.Lock()


def _driver(ws: Workspace, *, lanes: int | None, once: bool, first_lane: int, max_items: int | None,
            cancel: threading.Event | None, on_result: OnResult | None):
    from tutti.loop.driver import LoopDriver, LoopOptions
    from tutti.loop.forge_setup import forge_for

    if lanes is not None and lanes < 1:
        raise UsageError(f"--lanes must be at least 1, got {lanes}", hint="tt loop --lanes 3")
    options = LoopOptions(lanes=lanes, once=once, first_lane=first_lane, max_items=max_items,
                          cancel=cancel or threading.Event())
    from tutti.policy.enforce import enforce_command

    # Verify commands obey the permission policy like every workflow command.
    return LoopDriver(ws, options, forge=forge_for(ws), on_result=on_result,
                      check_command=lambda command: enforce_command(ws, command, source="loop_verify"))


def run_loop(ws: Workspace, *, lanes: int | None = None, once: bool = False, first_lane: int = 1,
             max_items: int | None = None, cancel: threading.Event | None = None,
             on_result: OnResult | None = None) -> LoopReport:
    """Run the loop in this process until drained (`once`) or cancelled."""
    driver = _driver(ws, lanes=lanes, once=once, first_lane=first_lane, max_items=max_items, cancel=cancel,
                     on_result=on_result)
    return driver.run()


def start_loop(ws: Workspace, *, lanes: int | None = None, once: bool = False) -> dict[str, Any]:
    """Start the loop in a background thread (the API's action); one loop per workspace."""
    key = str(ws.root)
    with _RUNNING_LOCK:
        running = _RUNNING.get(key)
        if running is not None and running[0].is_alive():
            return {"started": False, "running": True, "message": "the loop is already running in this server"}
        cancel = threading.Event()
        driver = _driver(ws, lanes=lanes, once=once, first_lane=1, max_items=None, cancel=cancel, on_result=None)
        thread = threading.Thread(target=driver.run, name=f"tutti-loop-{ws.name}", daemon=True)
        _RUNNING[key] = (thread, cancel)
        thread.start()
    return {"started": True, "running": True, "lanes": driver.report.lanes, "once": once}


def stop_loop(ws: Workspace) -> dict[str, Any]:
    with _RUNNING_LOCK:
        running = _RUNNING.pop(str(ws.root), None)
    if running is None or not running[0].is_alive():
        return {"stopped": False, "message": "no loop is running in this server"}
    running[1].set()
    return {"stopped": True}


def loop_status(ws: Workspace) -> dict[str, Any]:
    from tutti.intake import leases

    with _RUNNING_LOCK:
        running = _RUNNING.get(str(ws.root))
    active = [lease.to_dict() for lease in leases.list_leases(ws.store, active_only=True)]
    return {"running": bool(running and running[0].is_alive()), "leases": active}
