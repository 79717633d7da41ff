"""`tt host`: a Temporal worker for this host's queue (and optionally the control queue)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tutti.errors import ConfigError, TuttiError

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

        await serve(ws, host=name, control=control, stop=stop, on_ready=ready, host_call=host_call)

    asyncio.run(main())


def host_call(ws: Workspace, op: str, args: dict[str, Any]) -> Any:
    """A `tt peek` / `tt send` from another machine for an agent on this host."""
    if op == "peek":
        from tutti.ops.agents import peek

        return peek(ws, args["agent"], int(args.get("lines", 50)))
    if op == "send":
        from tutti.ops.send import send

        args = dict(args)
        return send(ws, args.pop("agent"), args.pop("prompt"), **args).to_dict()
    raise TuttiError(f"unknown host call '{op}'", hint="one of: peek, send")
