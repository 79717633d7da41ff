"""The workflow engine: schedules a resolved plan as a DAG in waves, for every step type.

A wave is every pending step whose dependencies are done (success, warning or skipped); its
steps run on the run's executor (`workflows.executor`: where steps run is a seam — today a
pool of local threads bounded for command steps by the core count). A failed step with fail mode `closed` stops scheduling new waves
(steps already running finish); with `open` it becomes a `warning` and dependents continue.
Each step's intent and outcome are committed to the store before a dependent starts
(`checkpoints.RunRecorder`), so `resume` re-runs exactly what had not completed. The engine
knows step types only through the executor registry (`workflows.steps`).
"""

from __future__ import annotations

import os
import secrets
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti import proctree
from tutti.errors import TuttiError
from tutti.store.db import now_iso
from tutti.workflows.checkpoints import RunRecorder, RunState, step_result
from tutti.workflows.executor import Executor, StepTask, is_bounded, make_executor
from tutti.workflows.outputs import Outputs
from tutti.workflows.plan import Plan, ResolvedStep
from tutti.workflows.settings import EngineSettings, load_settings
from tutti.workflows.steps import DONE_STATUSES, StepContext, StepOutcome, executor_for

if TYPE_CHECKING:
    from tutti.workspace import Workspace

FAILED_STATUSES = ("failed", "timed_out", "cancelled")
OnEvent = Callable[[str, dict[str, Any]], None]

_ACTIVE: dict[str, Engine] = {}  # run_id -> engine running in this process (for cancel)
_ACTIVE_LOCK = threading.Lock()


def new_run_id() -> str:
    """`{epoch_ms}-{pid}-{4 hex}`: sortable like the original's `{ms}-{pid}`, unique per thread."""
    return f"{int(time.time() * 1000)}-{os.getpid()}-{secrets.token_hex(2)}"


def cancel_marker(ws: Workspace, run_id: str) -> Path:
    return ws.state_dir / "workflow-cancel" / run_id


def active_engine(run_id: str) -> Engine | None:
    with _ACTIVE_LOCK:
        return _ACTIVE.get(run_id)


@dataclass
class RunResult:
    run_id: str
    workflow: str
    origin: str
    strict: bool
    agent_scope: str | None
    status: str  # succeeded | failed | cancelled
    failed_steps: list[int]
    warning_count: int
    steps: list[dict[str, Any]]
    started_at: str
    finished_at: str
    resumed: bool = False
    parent_run_id: str | None = None
    hooks: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # e.g. a closed workflow_complete hook failure

    @property
    def success(self) -> bool:
        return self.status == "succeeded"

    def failure_detail(self) -> str:
        """`step 2 'tests': command failed (exit 1): ...` for each failed step (+ hook error)."""
        parts = [f"step {s['step_index']}{' ' + repr(s['step_id']) if s.get('step_id') else ''}: {s.get('message', '')}"
                 for s in self.steps if s["step_index"] in self.failed_steps]
        if self.error:
            parts.append(self.error)
        return "; ".join(parts)

    def failure_hints(self) -> list[str]:
        """The failed steps' own fixes (a blocked command's rule file and command), deduplicated."""
        hints = [s["hint"] for s in self.steps if s["step_index"] in self.failed_steps and s.get("hint")]
        return list(dict.fromkeys(hints))

    def failure_message(self) -> str:
        verdict = "was cancelled" if self.status == "cancelled" else "failed"
        text = f"workflow '{self.workflow}' {verdict} (failed steps: {self.failed_steps})"
        detail = self.failure_detail()
        return f"{text}: {detail}" if detail else text

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "workflow": self.workflow, "origin": self.origin, "strict": self.strict,
                "agent_scope": self.agent_scope, "status": self.status, "success": self.success,
                "failed_steps": self.failed_steps, "warning_count": self.warning_count, "steps": self.steps,
                "started_at": self.started_at, "finished_at": self.finished_at, "resumed": self.resumed,
                "parent_run_id": self.parent_run_id, "hooks": self.hooks, "error": self.error}


class Engine:
    """Runs one plan once. `prepare()` records the run (returns fast); `execute()` blocks."""

    def __init__(self, ws: Workspace, plan: Plan, *, run_id: str | None = None, resume: RunState | None = None,
                 origin: str = "run", direct: bool = False, cancel: threading.Event | None = None,
                 parent_run_id: str | None = None, stack: tuple[str, ...] = (), on_event: OnEvent | None = None,
                 settings: EngineSettings | None = None, executor: Executor | None = None) -> None:
        self.ws, self.plan, self.resume = ws, plan, resume
        self.run_id = resume.run_id if resume else (run_id or new_run_id())
        self.origin = resume.origin if resume else origin
        self.direct = direct
        self.cancel = cancel or threading.Event()
        self.parent_run_id = resume.params.get("parent_run_id") if resume else parent_run_id
        self.stack = (*stack, plan.workflow)
        self.on_event = on_event
        self.settings = settings or load_settings()
        self.started_at = resume.started_at if resume else now_iso()
        self.recorder = RunRecorder(ws, plan, self.run_id, self.origin, self.started_at)
        self.outputs = Outputs(ws.state_dir, self.run_id, resume.outputs() if resume else None)
        self.log_dir = ws.tutti_dir / "logs" / "runs" / self.run_id
        self.executor = executor or make_executor(self.run_id)
        self.done: dict[int, StepOutcome] = {}
        self._deferred: list[Any] = []  # the last completed batch, committed with the next intents
        self._finished = threading.Event()
        self._prepared = False
        self._finalizers: list[Callable[[], None]] = []
        self._finalizers_lock = threading.Lock()

    # -- lifecycle --------------------------------------------------------------------------
    def prepare(self) -> str:
        params = {"workflow": self.plan.workflow, "strict": self.plan.strict, "agent": self.plan.agent_scope,
                  "force_open": self.plan.force_open,
                  "origin": self.origin, "direct": self.direct, "pid": os.getpid(),
                  "pid_started": proctree.start_ticks(os.getpid()),
                  "parent_run_id": self.parent_run_id,
                  "resumes": (self.resume.params.get("resumes", 0) + 1) if self.resume else 0,
                  "plan": [{"index": s.index, "key": s.key, "id": s.id, "type": s.type, "agent": s.agent,
                            "fail_mode": s.fail_mode, "depends_on": s.depends_on} for s in self.plan.steps]}
        self.recorder.begin(params, resumed=self.resume is not None)
        with _ACTIVE_LOCK:
            _ACTIVE[self.run_id] = self
        self._prepared = True
        self._notify("workflow.started", {"run_id": self.run_id, "workflow_name": self.plan.workflow,
                                          "resumed": self.resume is not None})
        return self.run_id

    def run(self) -> RunResult:
        if not self._prepared:
            self.prepare()
        return self.execute()

    def execute(self) -> RunResult:
        watcher = threading.Thread(target=self._watch_cancel_marker, daemon=True)
        watcher.start()
        try:
            self._carry_over_resumed_steps()
            self._schedule()
            return self._finish()
        except BaseException as exc:
            # An engine bug or store failure must not leave a live process owning a `running`
            # row forever (it could never be resumed); record the failure, best effort.
            self._record_crash(exc)
            raise
        finally:
            self._finished.set()
            with _ACTIVE_LOCK:
                _ACTIVE.pop(self.run_id, None)
            cancel_marker(self.ws, self.run_id).unlink(missing_ok=True)

    # -- scheduling -------------------------------------------------------------------------
    def _carry_over_resumed_steps(self) -> None:
        if not self.resume:
            return
        from tutti.workflows.orphans import kill_orphans

        killed = kill_orphans(self.run_id)
        if killed:
            self._emit("workflow.orphans_killed", {"pids": killed, "reason": "commands left running by the crashed run"})
        carried = []
        for index, prior in self.resume.steps.items():
            if prior.outcome is not None and prior.status in DONE_STATUSES and index <= len(self.plan.steps):
                self.done[index] = prior.outcome
                carried.append((self.plan.step(index), prior))
        self.recorder.carry_over(carried)

    def _schedule(self) -> None:
        """Wave by wave: a step is ready when every dependency is done and ok. Readiness is kept
        as a count of unmet dependencies per step, so scheduling costs O(1) per step."""
        unmet = {s.index: sum(1 for d in s.depends_on if not (d in self.done and self.done[d].ok))
                 for s in self.plan.steps if s.index not in self.done}
        dependents: dict[int, list[int]] = {}
        for s in self.plan.steps:
            for d in s.depends_on:
                dependents.setdefault(d, []).append(s.index)
        ready = sorted(i for i, n in unmet.items() if n == 0)
        with _closing(self.executor), self._committing_leftovers():
            while ready and not self.cancel.is_set():
                stop, next_ready = False, []
                for step, outcome in self._run_wave([self.plan.step(i) for i in ready]):
                    self.done[step.index] = outcome
                    stop = stop or (outcome.status in FAILED_STATUSES and step.fail_mode == "closed")
                    if outcome.ok:
                        for j in dependents.get(step.index, ()):
                            unmet[j] -= 1
                            if unmet[j] == 0:
                                next_ready.append(j)
                if stop:
                    break
                ready = sorted(next_ready)

    @contextmanager
    def _committing_leftovers(self) -> Iterator[None]:
        try:
            yield
        finally:
            if self._deferred:
                self.recorder.commit([], self._deferred)
                self._deferred = []
            self.recorder.flush()

    def _run_wave(self, steps: list[ResolvedStep]) -> list[tuple[ResolvedStep, StepOutcome]]:
        """Commit the wave's intents in one transaction, run it on the executor, and commit
        each batch of outcomes as it completes. The wave's last batch is committed together
        with the next wave's intents (or alone when the run stops) — still before any step
        that depends on it starts — so a chain costs one transaction per step, not two."""
        tasks = [self._task(step) for step in steps]
        planned = self.recorder.commit([(t.step, t.intent, t.extra["attempt"], t.extra["prior_planned"])
                                        for t in tasks], self._deferred)
        self._deferred = []
        self.recorder.flush()  # the checkpoint mirror, once per wave
        for task in tasks:
            task.extra["planned_at"] = planned[task.step.index]
            self._notify("workflow.step.started", {"step_index": task.step.index, "step_key": task.step.key,
                                                   "type": task.step.type})
        results: list[tuple[ResolvedStep, StepOutcome]] = []
        for batch in self.executor.run_wave(tasks):
            for task, outcome in batch:
                if outcome.status in ("failed", "timed_out") and task.step.fail_mode == "open":
                    outcome.side_effects.setdefault("failure_status", outcome.status)
                    outcome.status = "warning"
            if self._deferred:  # an earlier batch of this wave: commit now, steps are still running
                self.recorder.commit([], self._deferred)
            self._deferred = [(t.step, t.intent, t.extra["attempt"], t.extra["planned_at"], o) for t, o in batch]
            for task, outcome in batch:
                self._notify("workflow.step.finished", {"step": task.step, "outcome": outcome})
                results.append((task.step, outcome))
        return results

    def _task(self, step: ResolvedStep) -> StepTask:
        """Everything that must happen before the intent commits: context, executor, intent."""
        prior = self.resume.steps.get(step.index) if self.resume else None
        attempt = prior.attempt + 1 if prior else 1
        ctx = StepContext(workspace=self.ws, run_id=self.run_id, workflow=self.plan.workflow, origin=self.origin,
                          strict=self.plan.strict, agent_scope=self.plan.agent_scope, outputs=self.outputs,
                          cancel=self.cancel, settings=self.settings, log_dir=self.log_dir, emit=self._emit,
                          direct=self.direct, stack=self.stack, prior_intent=prior.intent if prior else None,
                          attempt=attempt, at_run_end=self._at_run_end, append_later=self.recorder.mirrors.append)
        try:
            executor = executor_for(ctx, step)
        except Exception as exc:  # a broken executor module must not take the run down
            executor, broken = None, f"cannot load executor for '{step.type}': {type(exc).__name__}: {exc}"
        else:
            broken = None
        intent = step.intent()
        if executor is not None and hasattr(executor, "plan_intent"):
            try:
                intent = executor.plan_intent(ctx, step, intent)
            except Exception as exc:
                broken = f"cannot plan {step.type} step: {type(exc).__name__}: {exc}"
        ctx.intent = intent

        def body() -> StepOutcome:
            started = time.monotonic()
            outcome = self._invoke(ctx, step, executor, prior, broken)
            if not outcome.duration:
                outcome.duration = time.monotonic() - started
            return outcome

        return StepTask(step=step, ctx=ctx, body=body, bounded=is_bounded(step),
                        self_slotted=bool(getattr(executor, "SELF_SLOTTED", False)),
                        extra={"attempt": attempt, "prior_planned": prior.planned_at if prior else None})

    def _invoke(self, ctx: StepContext, step: ResolvedStep, executor: Any, prior: Any,
                broken: str | None) -> StepOutcome:
        if broken is not None:
            return StepOutcome(status="failed", message=broken)
        try:
            if prior is not None and hasattr(executor, "already_done") and executor.already_done(ctx, step, prior.intent):
                return StepOutcome(status="skipped", message="already done before the crash (compensator preflight); not replayed")
            outcome = executor.execute(ctx, step)
            if not isinstance(outcome, StepOutcome):
                return StepOutcome(status="failed", message=f"{step.type} executor returned {type(outcome).__name__}, "
                                                            "not a StepOutcome")
            return outcome
        except TuttiError as exc:
            status = "cancelled" if self.cancel.is_set() else "failed"
            return StepOutcome(status=status, message=exc.message, hint=exc.hint)
        except Exception as exc:  # an executor bug is a failed step, never a crashed run
            self.log_dir.mkdir(parents=True, exist_ok=True)
            with open(self.log_dir / f"{step.key}.log", "a", encoding="utf-8") as fh:
                fh.write(traceback.format_exc())
            return StepOutcome(status="failed", message=f"internal error in {step.type} step: {type(exc).__name__}: {exc}")

    # -- finishing --------------------------------------------------------------------------
    def _finish(self) -> RunResult:
        steps, failed, warnings = [], [], 0
        for step in self.plan.steps:
            outcome = self.done.get(step.index)
            if outcome is None:
                steps.append({"step_index": step.index, "step_id": step.id, "step_key": step.key,
                              "step_type": step.type, "agent": step.agent, "status": "not_run", "success": False,
                              "message": "", "duration_ms": 0})
                continue
            steps.append(step_result(step, outcome))
            if outcome.status in FAILED_STATUSES:
                failed.append(step.index)
            elif outcome.status == "warning":
                warnings += 1
        complete = all(s.index in self.done for s in self.plan.steps)
        if self.cancel.is_set() and not (complete and not failed):
            status = "cancelled"
        else:
            status = "succeeded" if complete and not failed else "failed"
        result = RunResult(run_id=self.run_id, workflow=self.plan.workflow, origin=self.origin,
                           strict=self.plan.strict, agent_scope=self.plan.agent_scope, status=status,
                           failed_steps=failed, warning_count=warnings, steps=steps, started_at=self.started_at,
                           finished_at=now_iso(), resumed=self.resume is not None, parent_run_id=self.parent_run_id)
        self._run_finalizers()
        # Recursion guard: hook-started runs fire no workflow_complete hooks. A cancelled run fires
        # none either — cancel means stop now, and the hooks would only inherit the cancel.
        if self.origin != "hook_workflow_complete" and result.status != "cancelled":
            from tutti.workflows.hooks import fire_workflow_complete

            fire_workflow_complete(self.ws, result, run_workflow=run_named, settings=self.settings,
                                   cancel=self.cancel, stack=self.stack)
        self.recorder.write_final_files(success=result.success, failed_steps=failed, warning_count=warnings)
        self.recorder.finish(result.status, result.to_dict(),
                             {"workflow_name": self.plan.workflow, "origin": self.origin, "success": result.success,
                              "failed_steps": failed, "strict": self.plan.strict, "status": result.status,
                              "warning_count": warnings, "error": result.error})
        self._notify("workflow.finished", {"result": result})
        return result

    def _record_crash(self, exc: BaseException) -> None:
        error = f"engine error: {type(exc).__name__}: {exc}"
        self.recorder.mirrors.close()
        try:
            self.recorder.finish("failed", {"error": error}, {"workflow_name": self.plan.workflow,
                                                               "origin": self.origin, "success": False,
                                                               "failed_steps": [], "error": error})
        except Exception:
            pass

    def _at_run_end(self, fn: Callable[[], None]) -> None:
        with self._finalizers_lock:
            self._finalizers.append(fn)

    def _run_finalizers(self) -> None:
        with self._finalizers_lock:
            finalizers, self._finalizers = self._finalizers, []
        for fn in finalizers:
            try:
                fn()
            except Exception as exc:  # cleanup trouble is reported, never fatal to the run
                self._emit("workflow.finalizer_failed", {"error": f"{type(exc).__name__}: {exc}"})

    # -- events and cancel ----------------------------------------------------------------
    def _emit(self, kind: str, data: dict[str, Any] | None = None, agent: str | None = None,
              step: str | None = None) -> Any:
        event = self.ws.store.append_event(kind, run_id=self.run_id, agent=agent, step=step, data=data)
        self._notify(kind, data or {})
        return event

    def _notify(self, kind: str, data: dict[str, Any]) -> None:
        if self.on_event is not None:
            try:
                self.on_event(kind, data)
            except Exception:  # a progress printer must never break a run
                pass

    def _watch_cancel_marker(self) -> None:
        """`cancel_run` from another process drops a marker file; this turns it into the Event."""
        marker = cancel_marker(self.ws, self.run_id)
        while not self._finished.wait(0.25):
            if marker.exists():
                self.cancel.set()
                return


@contextmanager
def _closing(executor: Executor) -> Iterator[None]:
    try:
        yield
    finally:
        executor.close()


def run_named(ws: Workspace, name: str, *, strict: bool = False, agent: str | None = None, origin: str = "run",
              force_open: bool = False, **engine_args: Any) -> RunResult:
    """Resolve workflow `name` and run it to completion (blocking)."""
    from tutti.workflows.plan import resolve_plan

    plan = resolve_plan(ws, name, agent=agent, strict=strict, force_open=force_open)
    return Engine(ws, plan, origin=origin, **engine_args).run()


def fire_agent_stop(ws: Workspace, agent: str, *, cancel: threading.Event | None = None) -> list:
    """The `agent_stop` hooks for `agent` (`tt down`): hooks.fire_agent_stop with this engine's
    `run_named` for hooks that run a workflow — the engine is the one caller of `hooks`."""
    from tutti.workflows.hooks import fire_agent_stop as fire

    return fire(ws, agent, run_workflow=run_named, cancel=cancel)
