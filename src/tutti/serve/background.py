"""What `tt serve` does besides answering requests: watch agents and fire schedules.

- The sessions module's `Watcher` turns tmux pane output into `agent.*` events. A background
  watcher process normally runs while any agent is up; the server also runs one Watcher thread
  per workspace so the dashboard stays live for agents started earlier or by other tools. The
  Watcher's exclusive per-workspace lock guarantees only one of them emits events; while another
  holds it this thread simply retries later.
- Workspaces with scheduled workflows get a scheduler thread (`ops.schedule.run_schedules`),
  which starts due runs in the background — a long run never freezes watching or the API
  (the original ran them synchronously inside its 15 s tick).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutti.workspace import Workspace

RETRY_SECS = 5.0


@dataclass
class Background:
    workspaces: list[Workspace]
    schedule_interval_secs: float = 15.0
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for ws in self.workspaces:
            self._spawn(self._watch, ws, f"tutti-serve-watch-{ws.name}")
            if any(wf.schedule for wf in ws.config.workflows):
                self._spawn(self._schedule, ws, f"tutti-serve-schedule-{ws.name}")

    def _spawn(self, target, ws: Workspace, name: str) -> None:
        thread = threading.Thread(target=target, args=(ws,), name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _schedule(self, ws: Workspace) -> None:
        from tutti.ops.schedule import run_schedules

        while not self.stop.is_set():
            try:
                run_schedules(ws, interval_secs=self.schedule_interval_secs, stop=self.stop)
            except Exception as exc:  # noqa: BLE001 — keep serving; the failure is visible on the event stream
                ws.store.append_event("serve.scheduler_failed", data={"error": f"{type(exc).__name__}: {exc}"})
                self.stop.wait(RETRY_SECS * 6)

    def close(self, timeout: float = 5.0) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)

    def _watch(self, ws: Workspace) -> None:
        from tutti.sessions.watcher import Watcher

        failures = 0
        while not self.stop.is_set():
            try:
                Watcher(ws).run(self.stop, exit_when_empty=False)
                failures = 0
            except Exception as exc:  # noqa: BLE001 — tmux missing or a transient error: record it, back off, retry
                failures += 1
                if failures == 1:
                    ws.store.append_event("serve.watcher_failed", data={"error": f"{type(exc).__name__}: {exc}"})
            self.stop.wait(RETRY_SECS * min(failures + 1, 12))
