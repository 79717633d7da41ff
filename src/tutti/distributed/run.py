"""`tt run` / `tt verify` / the API with `[engine] kind = "temporal"`: one Temporal workflow per run,
whose workflow id IS the run id — so starting twice attaches (idempotency keys keep their
meaning) and `--resume RUN_ID` attaches to a live workflow or starts the next execution of that
id with the steps already done carried over. The run row and its events are written exactly as
the local engine writes them; the Temporal SDK is imported only from here down.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tutti.distributed.records import record_start, workflow_input
from tutti.distributed.settings import WORKFLOW_NAME, control_queue, require_sdk

if TYPE_CHECKING:
    from tutti.workflows.engine import RunResult
    from tutti.workspace import Workspace


def is_temporal(ws: Workspace) -> bool:
    return ws.config.engine.kind == "temporal"


async def _start(ws: Workspace, client: Any, name: str | None, *, strict: bool, agent: str | None, origin: str,
                 resume: str | None, direct: bool, force_open: bool) -> Any:
    """Record the run and start (or attach to) its workflow; returns the workflow handle."""
    from temporalio.common import WorkflowIDReusePolicy
    from temporalio.exceptions import WorkflowAlreadyStartedError
    from temporalio.service import RPCError

    from tutti.distributed.settings import EngineUnavailable
    from tutti.errors import UsageError
    from tutti.workflows.engine import new_run_id
    from tutti.workflows.plan import resolve_plan
    from tutti.workflows.steps import DONE_STATUSES

    if resume is not None:
        run_id = resume
        handle = client.get_workflow_handle(run_id)
        try:
            desc = await handle.describe()
            if desc.status is not None and desc.status.name == "RUNNING":
                return handle  # still running on Temporal: attach
        except Exception:  # noqa: BLE001 - no such workflow: start its next execution below
            pass
        from tutti.workflows.checkpoints import load_run_state

        state = load_run_state(ws, run_id)
        if state.status == "succeeded":
            raise UsageError(f"run '{run_id}' already succeeded; nothing to resume", hint=f"start a new run: tt run {state.workflow}")
        plan = resolve_plan(ws, state.workflow, agent=state.agent_scope, strict=state.strict or strict,
                            force_open=bool(state.params.get("force_open")))
        done = [i for i, p in state.steps.items() if p.status in DONE_STATUSES]
        origin, direct = state.origin, bool(state.params.get("direct"))
        record_start(ws, plan, run_id, origin, direct, state.params.get("resumes", 0) + 1, state.started_at)
    else:
        if not name:
            raise UsageError("workflow name is required unless --list or --resume is set", hint="tt run --list")
        plan = resolve_plan(ws, name, agent=agent, strict=strict, force_open=force_open)
        run_id, done = new_run_id(), []
        record_start(ws, plan, run_id, origin, direct, 0)
    inp = workflow_input(ws, plan, run_id, origin=origin, direct=direct, done=done)
    try:
        return await client.start_workflow(WORKFLOW_NAME, inp, id=run_id, task_queue=control_queue(ws.config),
                                           id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE)
    except WorkflowAlreadyStartedError:
        return client.get_workflow_handle(run_id)
    except RPCError as exc:  # e.g. an unknown namespace: the run row must not stay `running`
        _refused(ws, plan, run_id, origin, str(exc))
        raise EngineUnavailable(f"Temporal refused to start run {run_id}: {exc}",
                                hint=f"check [engine] namespace ('{ws.config.engine.namespace}') and address "
                                     f"in {ws.config_path}") from None


def _refused(ws: Workspace, plan: Any, run_id: str, origin: str, error: str) -> None:
    from tutti.workflows.checkpoints import RunRecorder

    recorder = RunRecorder(ws, plan, run_id, origin, "")
    recorder.finish("failed", {"error": error}, {"workflow_name": plan.workflow, "origin": origin, "success": False,
                                                 "failed_steps": [], "error": error})
    recorder.mirrors.close()


def run_on_temporal(ws: Workspace, name: str | None, *, strict: bool = False, agent: str | None = None,
                    origin: str = "run", resume: str | None = None, direct: bool = False, force_open: bool = False,
                    with_worker: bool | None = None, on_started: Callable[[str], None] | None = None,
                    cancel: threading.Event | None = None) -> RunResult:
    """Start (or attach to) the run's workflow and block until it finishes. The calling process
    also serves the control queue meanwhile (set TUTTI_TEMPORAL_EMBED_WORKER=0 to rely on a
    standing `tt host --control`). Setting `cancel` (Ctrl-C in `tt run`) cancels the workflow."""
    require_sdk()
    if with_worker is None:
        with_worker = os.environ.get("TUTTI_TEMPORAL_EMBED_WORKER", "1") != "0"
    return asyncio.run(_run(ws, name, strict=strict, agent=agent, origin=origin, resume=resume, direct=direct,
                            force_open=force_open, with_worker=with_worker, on_started=on_started, cancel=cancel))


async def _cancel_when(event: threading.Event | None, handle: Any) -> None:
    if event is None:
        return
    while not event.is_set():
        await asyncio.sleep(0.2)
    await handle.cancel()


async def _run(ws: Workspace, name: str | None, *, with_worker: bool, on_started: Callable[[str], None] | None,
               cancel: threading.Event | None, **start: Any) -> RunResult:
    from tutti.distributed.worker import build_workers, connect
    from tutti.workflows.engine import RunResult

    client = await connect(ws)
    handle = await _start(ws, client, name, **start)
    if on_started is not None:
        on_started(handle.id)
    workers = build_workers(client, ws, host=None, control=True) if with_worker else []
    tasks = [asyncio.create_task(w.run()) for w in workers]
    canceller = asyncio.create_task(_cancel_when(cancel, handle))
    try:
        data = await handle.result()
    finally:
        canceller.cancel()
        await asyncio.gather(*(w.shutdown() for w in workers), return_exceptions=True)
        await asyncio.gather(*tasks, return_exceptions=True)
    fields = RunResult.__dataclass_fields__
    return RunResult(**{k: v for k, v in data.items() if k in fields})


def start_on_temporal(ws: Workspace, name: str | None, **kw: Any) -> str:
    """For the API: return the run id once the workflow is started; wait in a background thread.
    Under `tt serve` the standing control worker (`distributed.control`) runs the workflow; else
    this process serves the control queue until the run ends."""
    started: dict[str, Any] = {}
    ready = threading.Event()

    def on_started(run_id: str) -> None:
        started["run_id"] = run_id
        ready.set()

    if kw.get("with_worker") is None and os.environ.get("TUTTI_TEMPORAL_EMBED_WORKER", "1") != "0":
        from tutti.distributed.control import standing_up

        kw["with_worker"] = not standing_up(ws)  # `tt serve`'s standing worker serves the control queue

    def target() -> None:
        try:
            run_on_temporal(ws, name, on_started=on_started, **kw)
        except BaseException as exc:  # noqa: BLE001 - reported to the caller if it happened before the start
            started.setdefault("error", exc)
            ready.set()

    threading.Thread(target=target, name="tutti-temporal-run", daemon=True).start()
    ready.wait()
    if "run_id" not in started:
        raise started["error"]
    return started["run_id"]


def cancel(ws: Workspace, run_id: str) -> bool:
    async def go() -> bool:
        from tutti.distributed.client import connect

        client = await connect(ws)
        await client.get_workflow_handle(run_id).cancel()
        return True

    require_sdk()
    return asyncio.run(go())


def list_workflows(ws: Workspace, limit: int = 1000) -> list[dict[str, Any]]:
    """Temporal's view of this workspace's runs: workflow id (= run id) and status."""
    async def go() -> list[dict[str, Any]]:
        from tutti.distributed.client import connect

        client = await connect(ws)
        out = []
        async for wf in client.list_workflows(f"WorkflowType = '{WORKFLOW_NAME}'", limit=limit):
            out.append({"run_id": wf.id, "status": wf.status.name if wf.status else None})
        return out

    require_sdk()
    return asyncio.run(go())
