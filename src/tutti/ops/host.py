"""`tt host`: a Temporal worker for this host's queue (and optionally the control queue)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from tutti.errors import ConfigError

if TYPE_CHECKING:
    from tutti.workspace import Workspace


def serve_host(ws: Workspace, *, name: str | None, control: bool, on_ready: Callable[[list[str]], None]) -> None:
    from tutti.distributed.settings import control_queue, host_queue, require_sdk

    if ws.config.engine.kind != "temporal":
        raise ConfigError(f"tt host needs [engine] kind = \"temporal\" in {ws.config_path}",
                          hint='add [engine] kind = "temporal" and address = "HOST:7233"')
    require_sdk()
    queues = ([host_queue(ws.config, name)] if name else []) + ([control_queue(ws.config)] if control else [])

    async def main() -> None:
        from tutti.distributed.worker import serve

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

        def ready() -> None:
            on_ready(queues)
            sys.stdout.flush()

        await serve(ws, host=name, control=control, stop=stop, on_ready=ready)

    asyncio.run(main())
