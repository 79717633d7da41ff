"""`tt peek` / `tt send` for an agent placed on another host, through that host's worker.

The host needs only its outbound connection to Temporal: the call is a tiny workflow
(`TuttiHostCall`) on the host's own queue whose one activity runs the handler `tt host` gave
its worker (`ops.host.host_call`: `ops.agents.peek` / `ops.send.send` there). A TuttiError on
the host comes back as the same one-line error.
`hosted()` is cheap and SDK-free, so local agents never load the SDK.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from tutti.distributed.settings import host_queue, require_sdk
from tutti.errors import TuttiError

if TYPE_CHECKING:
    from tutti.workspace import Workspace

HOST_CALL = "TuttiHostCall"


def hosted(ws: Workspace, agent: str) -> str | None:
    """The host serving `agent` when it is placed on one (and the engine is Temporal)."""
    if ws.config.engine.kind != "temporal":
        return None
    cfg = ws.config.agent(agent)
    return cfg.host if cfg is not None else None


def call(ws: Workspace, host: str, op: str, args: dict[str, Any], timeout_secs: float = 60) -> Any:
    require_sdk()
    import asyncio  # lazily: `tt status` imports this module for `hosted()` only

    async def go() -> Any:
        from datetime import timedelta

        from temporalio.client import WorkflowFailureError

        from tutti.distributed.worker import connect

        client = await connect(ws)
        try:
            return await client.execute_workflow(
                HOST_CALL, {"op": op, "args": args, "timeout_secs": timeout_secs},
                id=f"tutti-hostcall-{host}-{uuid.uuid4().hex[:12]}", task_queue=host_queue(ws.config, host),
                execution_timeout=timedelta(seconds=timeout_secs + 30))
        except WorkflowFailureError as exc:
            raise _as_tutti(exc, host) from None

    return asyncio.run(go())


def _as_tutti(exc: Exception, host: str) -> TuttiError:
    cause: Any = exc
    while getattr(cause, "cause", None) is not None:
        cause = cause.cause
    details = list(getattr(cause, "details", ()) or ())
    err = TuttiError(getattr(cause, "message", str(cause)) or f"host '{host}' did not answer",
                     hint=details[0] if details else f"is `tt host --name {host}` running?")
    err.category = getattr(cause, "type", None) or "host"
    err.code = err.category
    return err
