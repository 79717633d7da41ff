"""The Temporal workflow of one Tutti run: the engine's wave scheduler, ported deterministically.

Same plan, same rule as `workflows.engine.Engine._schedule`: a wave is every pending step whose
dependencies are all done and ok; a failed step with fail mode `closed` stops new waves (the
running ones finish). Every side effect is an activity — `tutti.begin_wave` commits the wave's
intents in the control store, `tutti.run_step` runs one step attempt on the step's queue (the
agent's host, or the control queue), `tutti.record_batch` commits outcomes (and the host's
forwarded events) as they complete, `tutti.finish_run` writes the result and fires the hooks.
No I/O, clocks or randomness here: this code is replayed from history after any crash.
Cancel = Temporal cancel: running activities are cancelled, the run is recorded `cancelled`.
Approvals = the `decide_approval` update (validated here, recorded by an activity). Schedules =
Temporal Schedules whose fires run `TuttiScheduled`, which runs the `TuttiRun` child.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    TimeoutType,
)
from temporalio.exceptions import TimeoutError as ActivityTimeout

CONTROL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10))
STEP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10),
                         maximum_attempts=0)  # a lost worker is retried until the step's own timeout


@workflow.defn(name="TuttiRun")
class TuttiRun:
    def __init__(self) -> None:
        self._hosts: set[str] = set()  # host queues this run's steps ran on
        self._decided: dict[str, str] = {}  # approval id -> decision, taken through this workflow

    @workflow.run
    async def run(self, inp: dict[str, Any]) -> dict[str, Any]:
        self._placed: dict[str, str] = {}  # label-placed agent -> the host it lives on (sticky)
        self._placing: set[str] = set()  # agents whose first step is on a label queue right now
        steps = {s["index"]: s for s in inp["steps"]}
        carried = {int(i) for i in inp.get("done", [])}  # done and ok in an earlier attempt of this run
        unmet = {i: sum(1 for d in s["depends_on"] if d not in carried) for i, s in steps.items() if i not in carried}
        dependents: dict[int, list[int]] = {}
        for s in inp["steps"]:
            for d in s["depends_on"]:
                dependents.setdefault(d, []).append(s["index"])
        ready = sorted(i for i, n in unmet.items() if n == 0)
        cancelled, wave = False, 0
        try:
            while ready:
                wave += 1
                stop, results = await self._wave(inp, steps, ready, wave)
                next_ready = []
                for i, good in results:
                    if good:
                        for j in dependents.get(i, ()):
                            unmet[j] -= 1
                            if unmet[j] == 0:
                                next_ready.append(j)
                if stop:
                    break
                ready = sorted(next_ready)
        except (asyncio.CancelledError, CancelledError):
            cancelled = True
        except (ActivityError, ChildWorkflowError) as exc:
            if not isinstance(exc.cause, CancelledError):
                raise
            cancelled = True
        await workflow.wait_condition(workflow.all_handlers_finished)  # a decision in flight is recorded first
        forwarded = await self._run_end(inp)
        return await self._control(inp, "tutti.finish_run", {"run_id": inp["run_id"], "cancelled": cancelled,
                                                             "forwarded": forwarded})

    @workflow.update(name="decide_approval")
    async def decide_approval(self, inp: dict[str, Any]) -> dict[str, Any]:
        """A human's decision on an approval a step of this run waits for (`tt approvals
        approve|deny`, `POST /v1/actions/approve`): recorded in the control store by an activity,
        so the decision is in this workflow's history; the waiting step sees the store row."""
        approval_id = inp["approval_id"]
        self._decided[approval_id] = "pending"
        try:
            result = await workflow.execute_activity(
                "tutti.decide_approval", {**inp, "run_id": workflow.info().workflow_id},
                task_queue=workflow.info().task_queue, start_to_close_timeout=timedelta(seconds=60),
                retry_policy=CONTROL_RETRY)
        except ActivityError as exc:
            del self._decided[approval_id]  # refused by the store (unknown, decided elsewhere): not ours
            cause = exc.cause
            if isinstance(cause, ApplicationError):
                raise ApplicationError(cause.message, *cause.details, type=cause.type, non_retryable=True) from None
            raise
        self._decided[approval_id] = result["status"]
        return result

    @decide_approval.validator
    def _validate_decision(self, inp: dict[str, Any]) -> None:
        """Refused before it enters the history: a malformed request, or an id decided already."""
        approval_id = inp.get("approval_id") if isinstance(inp, dict) else None
        if not isinstance(approval_id, str) or not approval_id or not isinstance(inp.get("approve"), bool):
            raise ApplicationError("a decision needs approval_id (a string) and approve (true/false)", type="usage")
        if approval_id in self._decided:
            state = self._decided[approval_id]
            raise ApplicationError(f"approval '{approval_id}' was already decided ({state})" if state != "pending"
                                   else f"approval '{approval_id}' is being decided", "each approval can be decided once",
                                   type="usage")

    async def _run_end(self, inp: dict[str, Any]) -> list[dict[str, Any]]:
        """Each host the run used stops the non-persistent agents the run started there (the
        local engine's run-end reclaim); best effort: a host that is gone does not hold the run —
        all hosts are asked at once, and one whose worker does not pick the call up within the
        placement timeout (at most 30 s) is skipped instead of holding the run for the full 120 s."""
        pickup = timedelta(seconds=min(30.0, float(inp.get("placement_timeout_secs", 30))))
        calls = [workflow.execute_activity(
            "tutti.run_end", {"run_id": inp["run_id"]}, task_queue=queue, schedule_to_start_timeout=pickup,
            schedule_to_close_timeout=timedelta(seconds=120), retry_policy=CONTROL_RETRY) for queue in sorted(self._hosts)]
        answers = await asyncio.gather(*calls, return_exceptions=True)
        for answer in answers:
            if isinstance(answer, BaseException) and not isinstance(answer, ActivityError):
                raise answer
        return [a for a in answers if not isinstance(a, BaseException)]

    async def _wave(self, inp: dict[str, Any], steps: dict[int, Any], ready: list[int],
                    wave: int) -> tuple[bool, list[tuple[int, bool]]]:
        token = f"{workflow.info().run_id}:{wave}"
        begun = await self._control(inp, "tutti.begin_wave", {"run_id": inp["run_id"], "indexes": ready, "token": token})
        self._placed.update(begun.get("placements") or {})  # the control store's placements win
        pending: dict[Any, int] = {}
        for i in ready:
            s = steps[i]
            if s.get("type") == "workflow":  # nested workflow = child workflow (its id = the child run id)
                pending[asyncio.ensure_future(self._child(inp, i, begun["steps"][str(i)]))] = i
                continue
            args = {**inp["step_args"], "run_id": inp["run_id"], "index": i, "key": s["key"],
                    **begun["steps"][str(i)], "outputs": begun["outputs"]}
            pending[asyncio.ensure_future(self._step(inp, s, args))] = i
        stop, results = False, []
        while pending:
            done, _ = await workflow.wait(list(pending), return_when=asyncio.FIRST_COMPLETED)
            batch = []
            for task in sorted(done, key=lambda t: pending[t]):
                i = pending.pop(task)
                res = task.result()
                batch.append({"index": i, **begun["steps"][str(i)], **res})
            recorded = await self._control(inp, "tutti.record_batch", {"run_id": inp["run_id"], "batch": batch})
            self._placed.update(recorded.get("placements") or {})
            for item in recorded["steps"]:
                results.append((item["index"], item["ok"]))
                stop = stop or item["stops"]
        return stop, results

    async def _step(self, inp: dict[str, Any], s: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        """One step attempt on its queue. A label-placed agent's step goes to its host's queue once
        placed; until then ONE step at a time goes to the label queue (so two steps of the agent
        never land on two hosts) and the host that took it becomes the agent's placement."""
        place = s.get("place")
        if place is None:
            if s["queue"] != inp["control_queue"]:
                self._hosts.add(s["queue"])
            return await self._activity(inp, s["queue"], args, None)
        agent = place["agent"]
        await workflow.wait_condition(lambda: agent not in self._placing)
        if agent in self._placed:
            queue = inp["host_queue_prefix"] + self._placed[agent]
            self._hosts.add(queue)
            return await self._activity(inp, queue, args, place["gone"].replace("{host}", self._placed[agent]))
        self._placing.add(agent)
        try:
            res = await self._activity(inp, place["queue"], args, place["unplaced"])
        finally:
            self._placing.discard(agent)
        if res.get("host") and agent not in self._placed:
            self._placed[agent] = res["host"]
            self._hosts.add(inp["host_queue_prefix"] + res["host"])
            res["placed"] = {"agent": agent, "host": res["host"], "labels": place["labels"]}
        return res

    async def _activity(self, inp: dict[str, Any], queue: str, args: dict[str, Any],
                        unstarted: str | None) -> dict[str, Any]:
        """`tutti.run_step`; with `unstarted` (placement by labels) no host taking it within the
        placement timeout is a failed step with that message instead of an endless wait."""
        wait = {"schedule_to_start_timeout": timedelta(seconds=inp["placement_timeout_secs"])} if unstarted else {}
        try:
            return await workflow.execute_activity(
                "tutti.run_step", args, task_queue=queue, start_to_close_timeout=timedelta(seconds=inp["step_timeout_secs"]),
                heartbeat_timeout=timedelta(seconds=3 * inp["heartbeat_secs"]), retry_policy=STEP_RETRY, **wait)
        except ActivityError as exc:
            cause = exc.cause
            if unstarted is None or not isinstance(cause, ActivityTimeout) or cause.type != TimeoutType.SCHEDULE_TO_START:
                raise
            return {"outcome": {"status": "failed", "message": unstarted}, "host": None, "events": []}

    async def _child(self, inp: dict[str, Any], index: int, begun: dict[str, Any]) -> dict[str, Any]:
        prep = await self._control(inp, "tutti.prepare_child", {"run_id": inp["run_id"], "index": index,
                                                                 "intent": begun["intent"], "stack": inp.get("stack", [])})
        if "outcome" in prep:  # a cycle, or the child finished before a crash
            return {"outcome": prep["outcome"], "host": None, "events": []}
        child = prep["child"]
        try:
            res = await workflow.execute_child_workflow(
                "TuttiRun", child, id=child["run_id"], task_queue=inp["control_queue"],
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE)
        except ChildWorkflowError as exc:
            if isinstance(exc.cause, CancelledError):
                raise
            res = {"status": "failed", "workflow": prep["workflow"], "error": str(exc.cause or exc)}
        status = res.get("status")
        verdict = {"succeeded": "success", "cancelled": "cancelled"}.get(status, "failed")
        words = {"success": "succeeded", "cancelled": "was cancelled"}.get(verdict, "failed")
        message = f"nested workflow '{prep['workflow']}' {words} (run {child['run_id']})"
        if res.get("failed_steps"):
            message += f" (failed steps: {res['failed_steps']})"
        return {"outcome": {"status": verdict, "message": message,
                            "side_effects": {"child_run_id": child["run_id"], "child_status": status,
                                             "temporal_child_workflow": True}},
                "host": None, "events": []}

    async def _control(self, inp: dict[str, Any], name: str, arg: dict[str, Any]) -> dict[str, Any]:
        # Local activities: the control worker runs the workflow, so its store writes need no
        # round trip through the server (recorded as markers; retried on replay if unfinished).
        return await workflow.execute_local_activity(name, arg, start_to_close_timeout=timedelta(seconds=300),
                                                     retry_policy=CONTROL_RETRY)


@workflow.defn(name="TuttiHostCall")
class TuttiHostCall:
    """One call (`peek`, `send`) to an agent on the host whose queue runs this workflow."""

    @workflow.run
    async def run(self, inp: dict[str, Any]) -> Any:
        return await workflow.execute_activity("tutti.host_call", inp,
                                               start_to_close_timeout=timedelta(seconds=inp.get("timeout_secs", 60)),
                                               retry_policy=RetryPolicy(maximum_attempts=1))


@workflow.defn(name="TuttiScheduled")
class TuttiScheduled:
    """One fire of a workflow's Temporal Schedule (`distributed.schedules`): record the run as
    `tt run WORKFLOW` would (the `tutti.plan_scheduled` activity), then run it as the `TuttiRun`
    child whose id is the run id. This workflow lasts as long as the run, so the schedule's
    overlap policy (skip) sees a run still going."""

    @workflow.run
    async def run(self, inp: dict[str, Any]) -> dict[str, Any]:
        # the run id format of `workflows.engine.new_run_id` ({epoch_ms}-{pid}-{hex}), deterministic
        run_id = f"{int(workflow.now().timestamp() * 1000)}-0-{workflow.random().getrandbits(16):04x}"
        child = await workflow.execute_activity(
            "tutti.plan_scheduled", {**inp, "run_id": run_id}, task_queue=workflow.info().task_queue,
            start_to_close_timeout=timedelta(seconds=120), retry_policy=RetryPolicy(maximum_attempts=3))
        return await workflow.execute_child_workflow("TuttiRun", child, id=run_id, task_queue=child["control_queue"],
                                                     id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE)
