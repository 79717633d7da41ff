"""What `tt serve` does besides answering requests: run the supervisor (`tutti.supervisor`).

One watcher thread per workspace (so the dashboard stays live for agents started earlier or by
other tools; the per-workspace watcher lock lets only one watcher — this one or the background
process `tt up` started — emit events), plus a scheduler thread for workspaces with scheduled
workflows, which starts due runs in the background: a long run never freezes watching or the
API (the original ran them synchronously inside its 15 s tick). Failures are recorded as
`serve.watcher_failed` / `serve.scheduler_failed` events. A workspace with `[engine] kind =
"temporal"` also gets its standing control worker (`tutti.distributed.control`) for the server's
whole life; its Temporal Schedules replace the local scheduler there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tutti.supervisor.core import Supervisor

if TYPE_CHECKING:
    from tutti.workspace import Workspace


class Background(Supervisor):
    def __init__(self, workspaces: list[Workspace], schedule_interval_secs: float = 15.0) -> None:
        super().__init__(workspaces, host="serve", schedule_interval_secs=schedule_interval_secs)

    def start(self) -> None:
        super().start()
        for ws in self.workspaces:
            if ws.config.engine.kind == "temporal":
                from tutti.distributed.control import start_standing

                self.threads.append(start_standing(ws, self.stop))
