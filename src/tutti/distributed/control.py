"""The standing control worker of `tt serve` (`[engine] kind = "temporal"`).

`tt serve` keeps one child process per temporal workspace for its whole life
(`python -m tutti.distributed.control ROOT`): a Temporal worker for the control queue (the
`TuttiRun` workflows, their control activities, agent-less steps, approval decisions and
scheduled starts) that also keeps the workspace's Temporal Schedules in step with tutti.toml
(`distributed.schedules`). So runs started by `tt run` elsewhere, by schedules or by the API all
progress while `tt serve` is up, and the API stops starting an ad-hoc worker per run.

A child process, not a thread: the serve process stays free of the SDK's runtime until an API
call needs a client, and a worker that dies (the SDK aborting, an OOM kill) is restarted with
backoff by `StandingWorker`, each exit recorded as an `engine.control_worker.exited` event. The
child stops when `tt serve` does — and on its own when its stdin closes (the parent died).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutti.proc import Spawned
    from tutti.workspace import Workspace

READY = "tutti control worker ready"
BACKOFF_SECS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
STABLE_SECS = 60.0  # a worker that ran this long before dying starts the backoff over

_standing: dict[str, StandingWorker] = {}
_standing_lock = threading.Lock()


def standing_up(ws: Workspace) -> bool:
    """True while this process supervises a ready control worker for `ws` (`tt serve`)."""
    with _standing_lock:
        worker = _standing.get(str(ws.root.resolve()))
    return worker is not None and worker.ready.is_set()


class StandingWorker:
    """Runs the control worker child until `stop` is set, restarting it with backoff."""

    def __init__(self, ws: Workspace, stop: threading.Event) -> None:
        self.ws, self.stop = ws, stop
        self.ready = threading.Event()
        self.restarts = 0
        self.child: Spawned | None = None

    def run(self) -> None:
        with _standing_lock:
            _standing[str(self.ws.root.resolve())] = self
        try:
            failures = 0
            while not self.stop.is_set():
                began = time.monotonic()
                code, tail = self._run_once()
                if self.stop.is_set():
                    break
                failures = 1 if time.monotonic() - began > STABLE_SECS else failures + 1
                delay = BACKOFF_SECS[min(failures, len(BACKOFF_SECS)) - 1]
                self.restarts += 1
                self.ws.store.append_event("engine.control_worker.exited", data={
                    "exit_code": code, "error": tail, "restart_in_secs": delay, "restarts": self.restarts})
                self.stop.wait(delay)
        finally:
            with _standing_lock:
                if _standing.get(str(self.ws.root.resolve())) is self:
                    del _standing[str(self.ws.root.resolve())]

    def _run_once(self) -> tuple[int | None, str]:
        from tutti.proc import spawn

        self.ready.clear()
        exited = threading.Event()

        def on_line(line: bytes) -> None:
            if line.decode(errors="replace").strip() == READY:
                self.ready.set()
                self.ws.store.append_event("engine.control_worker.ready", data={
                    "pid": self.child.pid if self.child else None, "restarts": self.restarts})

        self.child = None
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        child = spawn([sys.executable, "-m", "tutti.distributed.control", str(self.ws.root)], on_line=on_line,
                      on_exit=exited.set, cwd=self.ws.root, env=env)
        self.child = child
        while not exited.is_set() and not self.stop.is_set():
            exited.wait(0.5)
        self.ready.clear()
        if self.stop.is_set():
            child.stop()
            return None, ""
        child.popen.wait()
        tail = (child.stderr.strip().splitlines() or [""])[-1][:300]
        return child.popen.returncode, tail


def start_standing(ws: Workspace, stop: threading.Event) -> threading.Thread:
    """`tt serve`'s hook: supervise the control worker of `ws` in a daemon thread."""
    worker = StandingWorker(ws, stop)
    thread = threading.Thread(target=worker.run, name=f"tutti-control-worker-{ws.name}", daemon=True)
    thread.start()
    return thread


# -- the child process ------------------------------------------------------------------------
def _child_main(root: str) -> None:
    import asyncio
    import signal
    from pathlib import Path

    from tutti.distributed.worker import serve
    from tutti.workspace import load_workspace_at

    ws = load_workspace_at(Path(root))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        # the parent holds our stdin open: EOF means it is gone, and so should we be
        loop.run_in_executor(None, _wait_eof, lambda: loop.call_soon_threadsafe(stop.set))

        def ready() -> None:
            print(READY, flush=True)
            syncer.append(asyncio.create_task(_keep_schedules(ws, stop)))

        syncer: list = []
        try:
            await serve(ws, host=None, control=True, stop=stop, on_ready=ready)
        finally:
            for task in syncer:
                task.cancel()

    asyncio.run(main())


def _wait_eof(then) -> None:  # noqa: ANN001
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass
    then()


async def _keep_schedules(ws: Workspace, stop) -> None:  # noqa: ANN001
    """Sync the Temporal Schedules now and whenever tutti.toml changes (checked every 2 s); a
    failed sync (a bad edit, the service away) is an `engine.schedules.sync_failed` event. A
    valid new config also becomes the worker's own (`ws.config`), so runs started after the edit
    — a workflow just added, fired by its new schedule — plan against it; running runs keep the
    plans they resolved (cached per run)."""
    import asyncio

    from tutti.distributed.schedules import sync_changed

    state: dict = {}
    last_error = None
    while not stop.is_set():
        try:
            if await sync_changed(ws, state) is not None:
                ws.config = state["config"]
            last_error = None
        except Exception as exc:  # noqa: BLE001 - the worker keeps serving runs
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            if error != last_error:
                ws.store.append_event("engine.schedules.sync_failed", data={"error": error})
            last_error = error
            state.pop("digest", None)  # try again on the next tick
        try:
            await asyncio.wait_for(stop.wait(), 2.0)
        except TimeoutError:
            pass


if __name__ == "__main__":
    code = 0
    try:
        _child_main(sys.argv[1])
    except Exception as exc:  # noqa: BLE001 - one line to the parent, which records it
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # the SDK's runtime can abort a normal interpreter exit (sdk-python#300)
