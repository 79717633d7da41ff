"""`Supervisor`: the supervisor's parts for one or more workspaces, each in a thread.

Which parts run is decided per workspace by `Parts.for_host(ws, host)` from the config:
the watcher always (everything else reacts to its events); recovery when the global config
has a `[resilience]` strategy (the `Recovery` part itself reads it, and re-reads it on each
failure); auto-handoff when `[handoff] auto` is on (checked on each finished turn); the
scheduler when a workflow has a `schedule` and the host is a long-lived server (`tt serve`) —
the background process started by `tt up` does not fire schedules, as before.

`tt serve` runs `Supervisor(workspaces, host="serve")`; the background process runs the same
parts for one workspace in its main thread (`tutti.supervisor.process`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutti.workspace import Workspace

RETRY_SECS = 5.0
HOSTS = ("serve", "process", "watch")


@dataclass(frozen=True)
class Parts:
    watch: bool = True
    recover: bool = True
    schedule: bool = False
    telemetry: bool = False  # OTLP export of the event spine (`[observe] otel`); one exporter per workspace
    loop: bool = False  # the SDLC loop (`[loop] autostart`), in long-lived servers only

    @classmethod
    def for_host(cls, ws: Workspace, host: str) -> Parts:
        if host not in HOSTS:
            raise ValueError(f"unknown supervisor host '{host}' (one of {', '.join(HOSTS)})")
        scheduled = any(wf.schedule for wf in ws.config.workflows)
        observe = ws.config.observe
        loop = ws.config.loop is not None and ws.config.loop.autostart and host == "serve"
        local = ws.config.engine.kind != "temporal"  # on temporal, Temporal Schedules fire them
        return cls(watch=True, recover=True, schedule=scheduled and host != "process" and local,
                   telemetry=bool(observe.otel or observe.otlp_endpoint), loop=loop)


class Supervisor:
    def __init__(self, workspaces: list[Workspace], *, host: str = "serve", schedule_interval_secs: float = 15.0,
                 parts: Callable[[Workspace], Parts] | None = None, stop: threading.Event | None = None) -> None:
        self.workspaces = list(workspaces)
        self.host = host
        self.schedule_interval_secs = schedule_interval_secs
        self.parts = parts or (lambda ws: Parts.for_host(ws, host))
        self.stop = stop or threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for ws in self.workspaces:
            parts = self.parts(ws)
            if parts.watch:
                self._spawn(lambda w=ws, p=parts: self._watch(w, p), f"tutti-supervise-watch-{ws.name}")
                from tutti.supervisor.inbox import supervise_inbox  # agent-to-agent messages

                self._spawn(lambda w=ws: supervise_inbox(w, self.stop), f"tutti-supervise-inbox-{ws.name}")
            if parts.schedule:
                self._spawn(lambda w=ws: self._schedule(w), f"tutti-supervise-schedule-{ws.name}")
            if parts.loop:
                from tutti.supervisor.loop import supervise_loop

                self._spawn(lambda w=ws: supervise_loop(w, self.stop, host=self.host), f"tutti-supervise-loop-{ws.name}")
            if parts.telemetry:
                from tutti.telemetry.exporter import start_background

                thread = start_background(ws, self.stop)  # None when another process already exports
                if thread is not None:
                    self.threads.append(thread)

    def close(self, timeout: float = 5.0) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _watch(self, ws: Workspace, parts: Parts) -> None:
        """Watch until stopped. While the background process holds the workspace's watcher lock
        `run` returns at once and this retries later, so exactly one watcher emits events."""
        from tutti.supervisor.watcher import Watcher

        failures = 0
        while not self.stop.is_set():
            try:
                Watcher(ws, recover=parts.recover).run(self.stop, exit_when_empty=False)
                failures = 0
            except Exception as exc:  # noqa: BLE001 — tmux missing or a transient error: record it, back off, retry
                failures += 1
                if failures == 1:
                    ws.store.append_event(f"{self.host}.watcher_failed", data={"error": f"{type(exc).__name__}: {exc}"})
            self.stop.wait(RETRY_SECS * min(failures + 1, 12))

    def _schedule(self, ws: Workspace) -> None:
        from tutti.supervisor.scheduler import run_schedules

        while not self.stop.is_set():
            try:
                run_schedules(ws, interval_secs=self.schedule_interval_secs, stop=self.stop)
            except Exception as exc:  # noqa: BLE001 — keep going; the failure is visible on the event stream
                ws.store.append_event(f"{self.host}.scheduler_failed", data={"error": f"{type(exc).__name__}: {exc}"})
                self.stop.wait(RETRY_SECS * 6)
