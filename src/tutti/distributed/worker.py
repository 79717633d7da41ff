"""Temporal connection and workers (the only modules that import the SDK, besides `workflow_def`).

`tt host --name H` runs a worker for `<prefix>.host.H` (step attempts of agents placed there);
`tt host --control` (and a blocking `tt run`) runs the control worker: the workflow itself, the
control activities that write the workspace's store, and the steps that touch no remote agent.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from tutti.distributed.client import connect
from tutti.distributed.settings import EngineUnavailable, control_queue, host_queue

if TYPE_CHECKING:
    from tutti.workspace import Workspace

MAX_STEP_THREADS = 64  # step attempts mostly wait on agents


def activities(ws: Workspace, *, host: str | None, control: bool, heartbeat_secs: float,
               host_call: Any = None) -> list[Any]:
    from temporalio import activity

    from tutti.distributed.activities import ControlActivities, StepRunner

    runner = StepRunner(ws, host)

    @activity.defn(name="tutti.run_step")
    def run_step(inp: dict) -> dict:
        result = _heartbeating(lambda cancel: runner.run_step(inp, cancel), heartbeat_secs)
        # which delivery of this activity finished the step (1 unless a worker was lost mid-step)
        result["outcome"].setdefault("side_effects", {})["temporal_attempt"] = activity.info().attempt
        return result

    acts: list[Any] = [run_step]
    if host:
        @activity.defn(name="tutti.host_call")
        def call(inp: dict) -> Any:
            return _host_call(ws, inp, host_call)

        @activity.defn(name="tutti.run_end")
        def run_end(inp: dict) -> dict:
            return runner.run_end(inp)

        acts += [call, run_end]
    if control:
        ctl = ControlActivities(ws)

        @activity.defn(name="tutti.begin_wave")
        def begin_wave(inp: dict) -> dict:
            return ctl.begin_wave(inp)

        @activity.defn(name="tutti.record_batch")
        def record_batch(inp: dict) -> dict:
            return ctl.record_batch(inp)

        @activity.defn(name="tutti.finish_run")
        def finish_run(inp: dict) -> dict:
            return ctl.finish_run(inp)

        @activity.defn(name="tutti.prepare_child")
        def prepare_child(inp: dict) -> dict:
            return ctl.prepare_child(inp)

        @activity.defn(name="tutti.ingest_forwarded")
        def ingest_forwarded(inp: dict) -> dict:  # a host's events, forwarded outside runs too
            from tutti.distributed.spine import ingest_forwarded as ingest

            return ingest(ws.store, inp)

        acts += [begin_wave, record_batch, finish_run, prepare_child, ingest_forwarded, *_plane_activities(ws)]
    return acts


def _plane_activities(ws: Workspace) -> list[Any]:
    """The control plane's own activities: an approval decided through its run (the `TuttiRun`
    update), a Temporal Schedule's fire recorded as a run (`TuttiScheduled`)."""
    from temporalio import activity

    @activity.defn(name="tutti.decide_approval")
    def decide_approval(inp: dict) -> dict:
        from tutti.distributed.approvals import record

        return _as_application_error(lambda: record(ws, inp))

    @activity.defn(name="tutti.plan_scheduled")
    def plan_scheduled(inp: dict) -> dict:
        from tutti.distributed.schedules import plan

        return _as_application_error(lambda: plan(ws, inp))

    return [decide_approval, plan_scheduled]


def _host_call(ws: Workspace, inp: dict, handler: Any) -> Any:
    from temporalio.exceptions import ApplicationError

    from tutti.errors import TuttiError

    try:
        if handler is None:
            raise TuttiError("this worker takes no host calls", hint="run `tt host --name HOST` on the agent's host")
        return handler(ws, inp["op"], inp["args"])
    except TuttiError as exc:  # back to the caller as the same one-line error (no retry)
        raise ApplicationError(exc.message, exc.hint or "", type=exc.category, non_retryable=True) from None


def _as_application_error(body: Any) -> Any:
    """A TuttiError goes back to the caller as the same one-line error (type = its category,
    details = its hint), never retried."""
    from temporalio.exceptions import ApplicationError

    from tutti.errors import TuttiError

    try:
        return body()
    except TuttiError as exc:
        raise ApplicationError(exc.message, exc.hint or "", type=exc.category, non_retryable=True) from None


def _heartbeating(body: Any, every: float) -> Any:
    """Run the step in a thread; heartbeat meanwhile (a long agent turn stays alive, a dead worker
    is noticed within 3 heartbeats) and turn a Temporal cancel into the step's cancel Event."""
    from temporalio import activity

    cancel, box = threading.Event(), {}

    def target() -> None:
        try:
            box["value"] = body(cancel)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the activity thread
            box["error"] = exc

    t = threading.Thread(target=target, name="tutti-step", daemon=True)
    t.start()
    while t.is_alive():
        t.join(min(1.0, every))
        if t.is_alive():
            activity.heartbeat()
            if activity.is_cancelled():
                cancel.set()
    if "error" in box:
        raise box["error"]
    return box["value"]


def build_workers(client: Any, ws: Workspace, *, host: str | None, control: bool, host_call: Any = None,
                  labels: list[str] | None = None) -> list[Any]:
    from temporalio.worker import Worker

    from tutti.distributed.forward_def import TuttiForward
    from tutti.distributed.workflow_def import TuttiHostCall, TuttiRun, TuttiScheduled

    hb = ws.config.engine.heartbeat_secs
    pool = ThreadPoolExecutor(max_workers=MAX_STEP_THREADS, thread_name_prefix="tutti-activity")
    workers = []
    if control:
        workers.append(Worker(client, task_queue=control_queue(ws.config), workflows=[TuttiRun, TuttiForward, TuttiScheduled],
                              activities=activities(ws, host=None, control=True, heartbeat_secs=hb),
                              activity_executor=pool, max_concurrent_activities=MAX_STEP_THREADS))
    if host:
        workers.append(Worker(client, task_queue=host_queue(ws.config, host), workflows=[TuttiHostCall],
                              activities=activities(ws, host=host, control=False, heartbeat_secs=hb, host_call=host_call),
                              activity_executor=pool, max_concurrent_activities=MAX_STEP_THREADS))
        from tutti.distributed.placement import served_label_queues

        for queue in served_label_queues(ws.config, labels or []):  # first steps of label-placed agents
            workers.append(Worker(client, task_queue=queue,
                                  activities=activities(ws, host=host, control=False, heartbeat_secs=hb),
                                  activity_executor=pool, max_concurrent_activities=MAX_STEP_THREADS))
    if not workers:
        raise EngineUnavailable("tt host needs --name HOST and/or --control", hint="tt host --name gpu-1")
    return workers


async def serve(ws: Workspace, *, host: str | None, control: bool, stop: asyncio.Event,
                on_ready: Any = None, host_call: Any = None, labels: list[str] | None = None) -> None:
    """Run the workers until `stop` is set (SIGTERM/SIGINT in `tt host`)."""
    client = await connect(ws)
    workers = build_workers(client, ws, host=host, control=control, host_call=host_call, labels=labels)
    tasks = [asyncio.create_task(w.run()) for w in workers]
    if host:  # this host's events reach the control store, in runs or not (distributed.forwarder)
        from tutti.distributed.forwarder import forward

        tasks.append(asyncio.create_task(forward(ws, client, host, stop)))
    if on_ready is not None:
        on_ready()
    await stop.wait()
    await asyncio.gather(*(w.shutdown() for w in workers), return_exceptions=True)
    await asyncio.gather(*tasks, return_exceptions=True)
