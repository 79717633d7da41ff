"""Activity bodies (plain Python; the Temporal wrappers are in `worker`).

Control queue (the process that owns the workspace's store):
* `begin_wave`  — commit the wave's intents (`RunRecorder.commit`, exactly as the local engine
  does; the executor's `plan_intent` runs here, so a resumed prompt step keeps its delivery
  record). Idempotent per wave token: a retried call returns what the first one committed.
* `record_batch` — ingest the host's forwarded events (spine), then commit the outcomes
  (fail mode `open` turns a failure into `warning`, as in the engine). An outcome already
  recorded for that attempt is not recorded again.
* `finish_run`  — the engine's own `_finish` over the recorded outcomes: result row, final
  files, `workflow_complete` hooks. Idempotent: a finished run returns its stored result.
Any queue: `StepRunner.run_step` — one step attempt through the executor seam
(`steps.executor_for(...).execute`), in the workspace of the process that runs it.
"""

from __future__ import annotations

import json
import threading
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti.distributed.placement import all_placements
from tutti.distributed.placement import record as record_placement
from tutti.distributed.step_outputs import for_step as outputs_for_step
from tutti.distributed.step_outputs import land_on_control
from tutti.distributed.step_outputs import pack as pack_outputs
from tutti.distributed.step_outputs import unpack as unpack_outputs
from tutti.errors import TuttiError
from tutti.store.db import now_iso
from tutti.workflows.outputs import outputs_dir
from tutti.workflows.steps import StepOutcome

if TYPE_CHECKING:
    from tutti.workflows.plan import Plan
    from tutti.workspace import Workspace

FAILED = ("failed", "timed_out", "cancelled")


class PlanCache:
    """Plans by run id: resolved once per process from the run's recorded parameters."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._plans: dict[str, Plan] = {}
        self._lock = threading.Lock()

    def get(self, run_id: str, workflow: str, agent: str | None, strict: bool, force_open: bool) -> Plan:
        from tutti.workflows.plan import resolve_plan

        with self._lock:
            plan = self._plans.get(run_id)
            if plan is None:
                plan = resolve_plan(self.ws, workflow, agent=agent, strict=strict, force_open=force_open)
                if len(self._plans) > 256:
                    self._plans.clear()
                self._plans[run_id] = plan
            return plan


def run_plan(cache: PlanCache, state: Any) -> Plan:
    return cache.get(state.run_id, state.workflow, state.agent_scope, state.strict, bool(state.params.get("force_open")))


class ControlActivities:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.plans = PlanCache(ws)
        self._locks: dict[str, threading.Lock] = {}  # one control call per run at a time (per run:
        self._guard = threading.Lock()  # a run's long finish — hooks — never stalls other runs)

    def _lock(self, run_id: str) -> threading.Lock:
        with self._guard:
            if len(self._locks) > 1024:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            return self._locks.setdefault(run_id, threading.Lock())

    def begin_wave(self, inp: dict[str, Any]) -> dict[str, Any]:
        from tutti.workflows.checkpoints import RunRecorder, load_run_state

        with self._lock(inp["run_id"]):
            state = load_run_state(self.ws, inp["run_id"])
            plan = run_plan(self.plans, state)
            token, out, started = inp["token"], {}, []
            for index in inp["indexes"]:
                step, prior = plan.step(index), state.steps.get(index)
                if prior is not None and prior.intent.get("_wave") == token:  # this call, retried
                    out[str(index)] = {"attempt": prior.attempt, "intent": prior.intent, "planned_at": prior.planned_at}
                    continue
                attempt = prior.attempt + 1 if prior else 1
                intent = {**self._intent(state, plan, step, prior, attempt), "_wave": token}
                started.append((step, intent, attempt, prior.planned_at if prior else None))
                out[str(index)] = {"attempt": attempt, "intent": intent,
                                   "prior_intent": prior.intent if prior else None}
            recorder = RunRecorder(self.ws, plan, state.run_id, state.origin, state.started_at)
            try:
                planned = recorder.commit(started, [])
            finally:
                recorder.mirrors.close()
            for step, _, _, _ in started:
                out[str(step.index)]["planned_at"] = planned[step.index]
            outputs = state.outputs()
            for index in inp["indexes"]:  # a step on a host gets the outputs it refers to, as content
                if carried := outputs_for_step(self.ws, plan.step(index), outputs):
                    out[str(index)]["carried_outputs"] = carried
            return {"steps": out, "outputs": outputs, "placements": all_placements(self.ws.store)}

    def _intent(self, state: Any, plan: Plan, step: Any, prior: Any, attempt: int) -> dict[str, Any]:
        """The step's intent, with the executor's `plan_intent` (as `Engine._task` does)."""
        from tutti.workflows.steps import executor_for

        ctx = step_context(self.ws, state.run_id, plan, state.origin, bool(state.params.get("direct")),
                           threading.Event(), {}, prior.intent if prior else None, attempt, state.outputs())
        intent = step.intent()
        try:
            executor = executor_for(ctx, step)
            if hasattr(executor, "plan_intent"):
                intent = executor.plan_intent(ctx, step, intent)
        except Exception:  # the step attempt itself reports a broken executor
            pass
        return intent

    def record_batch(self, inp: dict[str, Any]) -> dict[str, Any]:
        from tutti.distributed.spine import ingest
        from tutti.workflows.checkpoints import RunRecorder, load_run_state

        with self._lock(inp["run_id"]):
            store, placements = self.ws.store, {}
            with store.transaction() as conn:
                for item in inp["batch"]:
                    if item.get("host") and item.get("events"):
                        ingest(store, item["host"], item["events"], conn)
                    if placed := item.get("placed"):  # a label-placed agent's first step: where it now lives
                        placements[placed["agent"]] = record_placement(conn, placed["agent"], placed["host"],
                                                                       placed["labels"], inp["run_id"])
            state = load_run_state(self.ws, inp["run_id"])
            plan = run_plan(self.plans, state)
            finished, out = [], []
            for item in inp["batch"]:
                step, prior = plan.step(item["index"]), state.steps.get(item["index"])
                if item.get("output_files"):  # made on a host: the control keeps its own copies
                    land_on_control(outputs_dir(self.ws.state_dir, state.run_id), item["outcome"], item["output_files"])
                outcome = StepOutcome.from_dict(item["outcome"])
                if outcome.status in ("failed", "timed_out") and step.fail_mode == "open":
                    outcome.side_effects.setdefault("failure_status", outcome.status)
                    outcome.status = "warning"
                already = prior is not None and prior.attempt == item["attempt"] and prior.outcome is not None
                if already:
                    outcome = prior.outcome
                else:
                    finished.append((step, item["intent"], item["attempt"], item.get("planned_at") or now_iso(), outcome))
                out.append({"index": step.index, "ok": outcome.ok,
                            "stops": outcome.status in FAILED and step.fail_mode == "closed"})
            recorder = RunRecorder(self.ws, plan, state.run_id, state.origin, state.started_at)
            try:
                recorder.commit([], finished)
            finally:
                recorder.mirrors.close()
            return {"steps": out, "placements": placements}

    def prepare_child(self, inp: dict[str, Any]) -> dict[str, Any]:
        """A nested `workflow` step: record the child run (its id chosen by `plan_intent` and kept
        across resumes) and return the child workflow's input — or its outcome when there is
        nothing to run (a cycle; a child that succeeded before a crash)."""
        from tutti.distributed.records import record_start, workflow_input
        from tutti.errors import NotFoundError
        from tutti.workflows.checkpoints import load_run_state
        from tutti.workflows.plan import resolve_plan
        from tutti.workflows.steps import DONE_STATUSES

        with self._lock(inp["run_id"]):
            parent = load_run_state(self.ws, inp["run_id"])
            step = run_plan(self.plans, parent).step(inp["index"])
            name, child_id = step.config.workflow, inp["intent"]["child_run_id"]
            if name in inp["stack"]:
                return {"outcome": {"status": "failed", "message": "nested workflow cycle: "
                                    + " → ".join([*inp["stack"], name])}}
            try:
                child = load_run_state(self.ws, child_id)
            except NotFoundError:
                child = None
            if child is not None and child.status == "succeeded":
                return {"outcome": {"status": "success", "message": f"nested workflow '{name}' succeeded (run {child_id})",
                                    "side_effects": {"child_run_id": child_id, "child_status": "succeeded"}}}
            strict = step.config.strict if step.config.strict is not None else parent.strict
            plan = resolve_plan(self.ws, name, agent=step.agent, strict=strict)
            done = [i for i, p in child.steps.items() if p.status in DONE_STATUSES] if child else []
            if child is None or child.status != "running":
                record_start(self.ws, plan, child_id, parent.origin, bool(parent.params.get("direct")),
                             child.params.get("resumes", 0) + 1 if child else 0,
                             child.started_at if child else None, parent_run_id=parent.run_id)
            return {"workflow": name, "child": workflow_input(self.ws, plan, child_id, origin=parent.origin,
                                                              direct=bool(parent.params.get("direct")), done=done,
                                                              stack=inp["stack"])}

    def finish_run(self, inp: dict[str, Any]) -> dict[str, Any]:
        from tutti.workflows.checkpoints import load_run_state
        from tutti.workflows.engine import Engine

        with self._lock(inp["run_id"]):
            self._ingest(inp.get("forwarded") or [])
            state = load_run_state(self.ws, inp["run_id"])
            if state.status != "running":  # finished already (a retried call): the stored result
                row = self.ws.store.query("SELECT result FROM runs WHERE run_id = ?", (state.run_id,))[0]
                return json.loads(row["result"] or "{}")
            plan = run_plan(self.plans, state)
            engine = Engine(self.ws, plan, run_id=state.run_id, origin=state.origin,
                            parent_run_id=state.params.get("parent_run_id"))
            engine.started_at = engine.recorder.started_at = state.started_at
            engine.done = {i: p.outcome for i, p in state.steps.items() if p.outcome is not None and p.status != "running"}
            engine.recorder.record([(plan.step(i), o) for i, o in engine.done.items()])
            if state.params.get("resumes"):
                engine.resume = state  # only read for RunResult.resumed from here on
            if inp.get("cancelled"):
                engine.cancel.set()
            try:
                result = engine._finish()  # the engine's own finishing: same result, files, hooks
            finally:
                engine.recorder.mirrors.close()
            return result.to_dict()


    def _ingest(self, forwarded: list[dict[str, Any]]) -> None:
        from tutti.distributed.spine import ingest

        with self.ws.store.transaction() as conn:
            for item in forwarded:
                if item.get("host") and item.get("events"):
                    ingest(self.ws.store, item["host"], item["events"], conn)


def step_context(ws: Workspace, run_id: str, plan: Plan, origin: str, direct: bool, cancel: threading.Event,
                 intent: dict[str, Any], prior_intent: dict[str, Any] | None, attempt: int,
                 outputs: dict[str, str]) -> Any:
    from tutti.workflows.outputs import Outputs
    from tutti.workflows.settings import load_settings
    from tutti.workflows.steps import StepContext

    def emit(kind: str, data: dict[str, Any] | None = None, agent: str | None = None, step: str | None = None) -> Any:
        return ws.store.append_event(kind, run_id=run_id, agent=agent, step=step, data=data)

    return StepContext(workspace=ws, run_id=run_id, workflow=plan.workflow, origin=origin, strict=plan.strict,
                       agent_scope=plan.agent_scope, outputs=Outputs(ws.state_dir, run_id, outputs), cancel=cancel,
                       settings=load_settings(), log_dir=ws.tutti_dir / "logs" / "runs" / run_id, emit=emit,
                       direct=direct, stack=(plan.workflow,), intent=intent, prior_intent=prior_intent,
                       attempt=attempt)


class StepRunner:
    """Runs step attempts in this process's workspace. On a host (`host` set) the step's rows
    live in the host's own store: its intent (delivery records) survives a worker crash there,
    its outcome answers a retried activity ("already done?"), its events are forwarded."""

    def __init__(self, ws: Workspace, host: str | None) -> None:
        self.ws, self.host = ws, host
        self.plans = PlanCache(ws)

    def run_step(self, inp: dict[str, Any], cancel: threading.Event) -> dict[str, Any]:
        from tutti.distributed.spine import host_events

        run_id, index, attempt = inp["run_id"], inp["index"], inp["attempt"]
        plan = self.plans.get(run_id, inp["workflow"], inp.get("agent_scope"), inp["strict"], inp["force_open"])
        step = plan.step(index)
        if step.key != inp["key"]:
            outcome = StepOutcome(status="failed", message=f"step {index} is '{step.key}' on host {self.host}, "
                                                           f"'{inp['key']}' on the control host (tutti.toml differs)")
        else:
            local = self._local_row(run_id, index, attempt, inp)
            if local.get("outcome"):
                outcome = StepOutcome.from_dict(local["outcome"])  # this attempt finished before the retry
            else:
                outcome = self._execute_synced(inp, plan, step, local["intent"], cancel)
                self._save_outcome(run_id, index, outcome)
        if not self.host:
            return {"outcome": outcome.to_dict(), "host": None, "events": []}
        return {"outcome": outcome.to_dict(), "host": self.host, "events": host_events(self.ws.store, run_id),
                "output_files": pack_outputs(outcome.outputs)}  # no shared disk: the content travels

    def _local_row(self, run_id: str, index: int, attempt: int, inp: dict[str, Any]) -> dict[str, Any]:
        """The step's row in this process's store, created for this attempt when missing. A row of
        the same attempt is the truth (it holds delivery records written before a crash)."""
        store = self.ws.store
        with store.transaction() as conn:
            row = conn.execute("SELECT attempt, intent, outcome FROM steps WHERE run_id = ? AND step_index = ?",
                               (run_id, index)).fetchone()
            if row is not None and row["attempt"] == attempt:
                return {"intent": json.loads(row["intent"] or "{}"),
                        "outcome": json.loads(row["outcome"]) if row["outcome"] and self.host else None}
            if self.host is None:  # the control store: begin_wave wrote the row
                return {"intent": dict(inp["intent"]), "outcome": None}
            conn.execute("INSERT OR IGNORE INTO runs (run_id, kind, workflow, origin, status, started_at, params) "
                         "VALUES (?, 'host', ?, ?, 'running', ?, ?)",
                         (run_id, inp["workflow"], inp.get("origin"), now_iso(), json.dumps({"host": self.host})))
            conn.execute("INSERT INTO steps (run_id, step_index, step_key, step_type, status, attempt, intent, started_at) "
                         "VALUES (?, ?, ?, ?, 'running', ?, ?, ?) ON CONFLICT(run_id, step_index) DO UPDATE SET "
                         "status = 'running', attempt = excluded.attempt, intent = excluded.intent, outcome = NULL",
                         (run_id, index, inp["key"], "step", attempt, json.dumps(inp["intent"]), now_iso()))
        return {"intent": dict(inp["intent"]), "outcome": None}

    def _execute_synced(self, inp: dict[str, Any], plan: Plan, step: Any, intent: dict[str, Any],
                        cancel: threading.Event) -> StepOutcome:
        """The step, with the git sync of hosts that share no disk (`repo_sync`): on the control a
        `land` of a hosted agent first fetches its branch; on a `tt host --repo` host the run's
        first step fetches, and a step of an agent pushes the agent's branch when it moved."""
        from tutti.distributed import repo_sync

        effects: dict[str, Any] = {}
        repo = repo_sync.host_repo(self.ws) if self.host else None
        try:
            if self.host is None and step.type == "land" and step.agent:
                effects = repo_sync.fetch_for_land(self.ws, step.agent)
            elif repo is not None:
                effects = repo.before_run_step(inp["run_id"])
        except TuttiError as exc:
            return StepOutcome(status="failed", message=f"{exc.message} ({exc.hint})" if exc.hint else exc.message)
        outcome = self._execute(inp, plan, step, intent, cancel)
        cfg = self.ws.config.agent(step.agent) if repo is not None and step.agent else None
        if cfg is not None and cfg.worktree is not False:
            effects.update(repo.push_if_ahead(cfg.branch_name()))
        outcome.side_effects.update(effects)
        return outcome

    def _execute(self, inp: dict[str, Any], plan: Plan, step: Any, intent: dict[str, Any],
                 cancel: threading.Event) -> StepOutcome:
        from tutti.workflows.steps import executor_for

        prior = inp.get("prior_intent")
        outputs = dict(inp.get("outputs") or {})
        if self.host and inp.get("carried_outputs"):  # earlier steps' outputs, written here first
            outputs.update(unpack_outputs(outputs_dir(self.ws.state_dir, inp["run_id"]), inp["carried_outputs"]))
        ctx = step_context(self.ws, inp["run_id"], plan, inp.get("origin") or "run", bool(inp.get("direct")), cancel,
                           intent, prior, inp["attempt"], outputs)
        try:
            executor = executor_for(ctx, step)
            if prior is not None and hasattr(executor, "already_done") and executor.already_done(ctx, step, prior):
                return StepOutcome(status="skipped", message="already done before the crash (compensator preflight); not replayed")
            outcome = executor.execute(ctx, step)
            if not isinstance(outcome, StepOutcome):
                return StepOutcome(status="failed", message=f"{step.type} executor returned {type(outcome).__name__}")
            return outcome
        except TuttiError as exc:
            return StepOutcome(status="cancelled" if cancel.is_set() else "failed", message=exc.message,
                               hint=getattr(exc, "hint", None))
        except Exception as exc:  # an executor bug is a failed step, never a lost worker
            log = Path(ctx.log_dir) / f"{step.key}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(traceback.format_exc(), encoding="utf-8")
            return StepOutcome(status="failed", message=f"internal error in {step.type} step: {type(exc).__name__}: {exc}")

    def run_end(self, inp: dict[str, Any]) -> dict[str, Any]:
        """The run is over: stop the non-persistent agents it started on this host (as the local
        engine's run-end reclaim does, from the `workflow.agent_started` events in this store)."""
        from tutti.distributed.spine import host_events
        from tutti.workflows.steps.agent_session import reclaim, started_by_run

        run_id = inp["run_id"]
        reclaim(self.ws, run_id, started_by_run(self.ws, run_id))
        with self.ws.store.transaction() as conn:
            conn.execute("UPDATE runs SET status = 'finished', finished_at = ? WHERE run_id = ? AND kind = 'host'",
                         (now_iso(), run_id))
        return {"host": self.host, "events": host_events(self.ws.store, run_id)}

    def _save_outcome(self, run_id: str, index: int, outcome: StepOutcome) -> None:
        if self.host is None:
            return  # on the control queue `record_batch` records it
        with self.ws.store.transaction() as conn:
            conn.execute("UPDATE steps SET status = ?, outcome = ?, finished_at = ? WHERE run_id = ? AND step_index = ?",
                         (outcome.status, json.dumps(outcome.to_dict(), default=str), now_iso(), run_id, index))
