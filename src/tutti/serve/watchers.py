"""Agent-state watching while `tt serve` runs.

The sessions module's `Watcher` turns tmux pane output into `agent.*` events. A background
watcher process normally runs while any agent is up; the server also runs one Watcher thread per
workspace so the dashboard stays live for agents started earlier or by other tools. The
Watcher's exclusive per-workspace lock guarantees only one of them emits events; while another
holds it this thread simply retries later.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutti.workspace import Workspace

RETRY_SECS = 5.0


@dataclass
class WatcherThreads:
    workspaces: list[Workspace]
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for ws in self.workspaces:
            thread = threading.Thread(target=self._watch, args=(ws,), name=f"tutti-serve-watch-{ws.name}", daemon=True)
            thread.start()
            self.threads.append(thread)

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
            except Exception as exc:  # tmux missing or a transient error: record it, back off, retry
                failures += 1
                if failures == 1:
                    ws.store.append_event("serve.watcher_failed", data={"error": f"{type(exc).__name__}: {exc}"})
            self.stop.wait(RETRY_SECS * min(failures + 1, 12))
