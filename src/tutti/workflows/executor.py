"""The executor seam: *where* the steps of a wave run.

The engine owns everything durable and ordered — the plan, the DAG and its waves, the store
rows, checkpoints, mirror files and events. For each wave it builds one `StepTask` per ready
step and hands the list to an `Executor`, which runs the step bodies and reports each outcome
back as soon as it is known. The engine records those outcomes (one SQLite transaction per
batch that completed together) before any dependent step is scheduled.

Implementations:
- `InlineExecutor` — every step in the calling thread, one after the other.
- `LocalPoolExecutor` — the steps of a wave concurrently in threads of this process. Steps that
  do local CPU work (`bounded` tasks: command steps spawn processes here) share a bound that
  defaults to the core count (`TUTTI_WORKFLOW_MAX_PARALLEL` overrides it) — held while their
  processes run (`ctx.slot()`, executor modules with SELF_SLOTTED) so their Python work around
  them overlaps; steps that mostly wait on something else (an agent's turn, a nested run) are
  not held back by it.
- Next: a distributed worker (e.g. a Temporal activity worker on the host that holds an agent's
  worktree). It would ship `task.step.index`, `task.ctx.run_id` and `task.intent` instead of
  calling `task.body`, and yield the `StepOutcome` it gets back; the engine does not change.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tutti.workflows.steps import StepOutcome

if TYPE_CHECKING:
    from tutti.workflows.plan import ResolvedStep
    from tutti.workflows.steps import StepContext

GROUP_SECS = 0.002  # outcomes completing this close together share one commit (see _gather)
MAX_THREADS = 8  # upper bound on threads of one wave (unbounded tasks mostly wait on agents)
PARALLEL_ENV = "TUTTI_WORKFLOW_MAX_PARALLEL"
BOUNDED_TYPES = frozenset({"command"})  # step types whose work is local processes on this host


@dataclass
class StepTask:
    """One step of a wave, ready to run: its resolved config, its context (with the committed
    intent) and the in-process body that executes it and never raises."""

    step: ResolvedStep
    ctx: StepContext
    body: Callable[[], StepOutcome]
    bounded: bool = False
    self_slotted: bool = False  # a bounded step that holds ctx.slot() itself around its processes
    extra: dict[str, Any] = field(default_factory=dict)  # engine bookkeeping (attempt, planned_at)

    @property
    def intent(self) -> dict[str, Any]:
        return self.ctx.intent


Completed = list[tuple[StepTask, StepOutcome]]


class Executor(Protocol):
    """Runs the tasks of one wave; yields batches of (task, outcome) as they complete. Every
    task given must come back exactly once, also when its body fails (as a failed outcome)."""

    name: str

    def run_wave(self, tasks: Sequence[StepTask]) -> Iterator[Completed]: ...

    def close(self) -> None: ...


def _run(task: StepTask) -> StepOutcome:
    try:
        return task.body()
    except Exception as exc:  # bodies catch their own errors; this is the last line of defence
        return StepOutcome(status="failed", message=f"internal error running {task.step.type} step: "
                                                    f"{type(exc).__name__}: {exc}")


class InlineExecutor:
    """Today's single-threaded behaviour: each task in the calling thread, in index order."""

    name = "inline"

    def run_wave(self, tasks: Sequence[StepTask]) -> Iterator[Completed]:
        for task in tasks:
            yield [(task, _run(task))]

    def close(self) -> None:
        pass


class LocalPoolExecutor:
    """A wave's tasks concurrently in local threads; bounded tasks take one of `bound` slots."""

    name = "local-pool"

    def __init__(self, bound: int | None = None, *, thread_name_prefix: str = "tutti-step") -> None:
        self.bound = max(1, bound or default_parallelism())
        self._slots = threading.BoundedSemaphore(self.bound)
        self._pool: ThreadPoolExecutor | None = None
        self._prefix = thread_name_prefix
        self._lock = threading.Lock()

    def run_wave(self, tasks: Sequence[StepTask]) -> Iterator[Completed]:
        if len(tasks) == 1:  # no thread hop for a chain: the common case stays as cheap as inline
            yield [(tasks[0], self._slotted(tasks[0]))]
            return
        pool = self._get_pool()
        futures: dict[Future[StepOutcome], StepTask] = {pool.submit(self._slotted, t): t for t in tasks}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            done, pending = _gather(done, pending)
            yield [(futures[f], _result(futures[f], f)) for f in sorted(done, key=lambda f: futures[f].step.index)]

    def _slotted(self, task: StepTask) -> StepOutcome:
        if not task.bounded:
            return _run(task)
        if task.self_slotted:  # the bound covers its processes; its Python work overlaps them
            task.ctx.slot = self._slot
            return _run(task)
        with self._slots:
            return _run(task)

    def _slot(self) -> threading.BoundedSemaphore:
        return self._slots

    def _get_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=max(MAX_THREADS, self.bound),
                                                thread_name_prefix=self._prefix)
            return self._pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def _gather(done: set[Future[StepOutcome]], pending: set[Future[StepOutcome]]
            ) -> tuple[set[Future[StepOutcome]], set[Future[StepOutcome]]]:
    """Outcomes that complete within GROUP_SECS of the first one go into the same batch (one
    transaction instead of one each): a wave of fast steps commits in a few transactions. The
    wait delays no step — the wave's other steps run meanwhile and dependents wait for the
    wave's end anyway — and widens by at most GROUP_SECS the window in which a killed `tt`
    has a finished step's outcome not yet committed (supervised commands are adopted on
    resume regardless; idempotent ones run again)."""
    deadline = time.monotonic() + GROUP_SECS
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        more, pending = wait(pending, timeout=left, return_when=FIRST_COMPLETED)
        done |= more
    return done, pending


def _result(task: StepTask, future: Future[StepOutcome]) -> StepOutcome:
    try:
        return future.result()
    except BaseException as exc:  # e.g. a KeyboardInterrupt inside a worker thread
        return StepOutcome(status="failed", message=f"{task.step.type} step did not finish: {type(exc).__name__}: {exc}")


def default_parallelism() -> int:
    """`TUTTI_WORKFLOW_MAX_PARALLEL` if set to a positive integer, else the number of cores."""
    raw = os.environ.get(PARALLEL_ENV, "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return os.cpu_count() or 1


def is_bounded(step: ResolvedStep) -> bool:
    return step.type in BOUNDED_TYPES


def make_executor(run_id: str, bound: int | None = None) -> Executor:
    """The executor the engine uses for one run: the local pool. (With a bound of 1 command
    steps run one at a time, but a wave's prompt steps to different agents still overlap.)"""
    return LocalPoolExecutor(bound, thread_name_prefix=f"run-{run_id}")
