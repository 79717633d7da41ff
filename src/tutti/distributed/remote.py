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
    """The host serving `agent` when it is placed on one (and the engine is Temporal): its `host`,
    or for a label-placed agent the host that took it (none until one did)."""
    if ws.config.engine.kind != "temporal":
        return None
    cfg = ws.config.agent(agent)
    if cfg is None:
        return None
    if cfg.host or not getattr(cfg, "host_labels", None):
        return cfg.host
    from tutti.distributed.placement import placed_host

    return placed_host(ws.store, agent)


class HostNoAnswer(TuttiError):
    """The host's worker did not take the call in time (down, or cut off from Temporal)."""

    category = "host_no_answer"


def call(ws: Workspace, host: str, op: str, args: dict[str, Any], timeout_secs: float = 60,
         answer_within: float | None = None) -> Any:
    """Run `op` on `host`. With `answer_within`, a host that has not answered by then is given up
    on (its pending call is terminated, so a late host does not act on it): `HostNoAnswer`."""
    require_sdk()
    import asyncio  # lazily: `tt status` imports this module for `hosted()` only

    return asyncio.run(call_async(ws, host, op, args, timeout_secs, answer_within))


async def call_async(ws: Workspace, host: str, op: str, args: dict[str, Any], timeout_secs: float = 60,
                     answer_within: float | None = None, client: Any = None) -> Any:
    import asyncio
    from datetime import timedelta

    from temporalio.client import WorkflowFailureError

    from tutti.distributed.client import connect

    client = client or await connect(ws)
    wid = f"tutti-hostcall-{host}-{uuid.uuid4().hex[:12]}"
    limit = answer_within if answer_within is not None else timeout_secs + 30
    try:
        handle = await client.start_workflow(
            HOST_CALL, {"op": op, "args": args, "timeout_secs": timeout_secs}, id=wid,
            task_queue=host_queue(ws.config, host), execution_timeout=timedelta(seconds=limit + 5))
        return await asyncio.wait_for(handle.result(), limit)
    except TimeoutError:
        try:
            await client.get_workflow_handle(wid).terminate("the caller stopped waiting")
        except Exception:  # it finished or timed out meanwhile
            pass
        raise HostNoAnswer(f"host '{host}' did not answer within {limit:g}s",
                           hint=f"is `tt host --name {host}` running there and connected to Temporal?") from None
    except WorkflowFailureError as exc:
        raise _as_tutti(exc, host) from None


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
