"""The executor seam (where a wave's steps run) and the mirror files the engine writes around it."""

from __future__ import annotations

import json
import textwrap
import threading
from pathlib import Path
from types import SimpleNamespace

from tutti.ops import run as ops
from tutti.workflows.executor import InlineExecutor, LocalPoolExecutor, StepTask, default_parallelism
from tutti.workflows.steps import StepOutcome

from .helpers import wait_for


class Gauge:
    """Counts bodies running at once (per kind) and the most ever seen."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = {True: 0, False: 0}
        self.peak = {True: 0, False: 0}
        self.release = threading.Event()

    def body(self, bounded: bool, index: int):
        def run() -> StepOutcome:
            with self.lock:
                self.now[bounded] += 1
                self.peak[bounded] = max(self.peak[bounded], self.now[bounded])
            self.release.wait(30)
            with self.lock:
                self.now[bounded] -= 1
            if index == 3:
                raise RuntimeError("boom")  # a body that raises still comes back, as a failure
            return StepOutcome(status="success", message=str(index))
        return run


def _task(index: int, body, bounded: bool) -> StepTask:
    step = SimpleNamespace(index=index, type="command" if bounded else "prompt", key=f"{index:03d}")
    return StepTask(step=step, ctx=SimpleNamespace(intent={}), body=body, bounded=bounded)  # type: ignore[arg-type]


def test_pool_runs_a_wave_concurrently_within_the_bound_for_local_work():
    gauge = Gauge()
    tasks = [_task(i, gauge.body(True, i), True) for i in range(1, 6)]
    tasks += [_task(i, gauge.body(False, i), False) for i in range(6, 9)]
    executor = LocalPoolExecutor(2)
    batches: list = []
    runner = threading.Thread(target=lambda: batches.extend(executor.run_wave(tasks)))
    runner.start()
    try:
        # Two command steps (the bound) and every agent-waiting step run at the same time.
        wait_for(lambda: gauge.now[True] == 2 and gauge.now[False] == 3)
    finally:
        gauge.release.set()
        runner.join(30)
        executor.close()
    assert gauge.peak[True] == 2
    done = [(task.step.index, outcome) for batch in batches for task, outcome in batch]
    assert sorted(i for i, _ in done) == list(range(1, 9))  # each task exactly once
    failed = {i: o for i, o in done if o.status == "failed"}
    assert list(failed) == [3] and "RuntimeError: boom" in failed[3].message


def test_a_self_slotted_step_holds_the_bound_only_around_its_processes():
    # Command steps take ctx.slot() around their processes themselves: three such steps with a
    # bound of 1 all do their own work at once, but only one is ever inside its slot.
    gauge = Gauge()
    inside = {"now": 0, "peak": 0}
    all_started = threading.Barrier(3, timeout=30)

    def body(task_ref: list):
        def run() -> StepOutcome:
            all_started.wait()  # would time out if the executor held the bound for the whole body
            with task_ref[0].ctx.slot():
                with gauge.lock:
                    inside["now"] += 1
                    inside["peak"] = max(inside["peak"], inside["now"])
                threading.Event().wait(0.05)
                with gauge.lock:
                    inside["now"] -= 1
            return StepOutcome(status="success")
        return run

    tasks = []
    for i in (1, 2, 3):
        ref: list = []
        task = _task(i, body(ref), True)
        task.self_slotted = True
        ref.append(task)
        tasks.append(task)
    executor = LocalPoolExecutor(1)
    try:
        done = [(t.step.index, o.status) for batch in executor.run_wave(tasks) for t, o in batch]
    finally:
        executor.close()
    assert sorted(done) == [(1, "success"), (2, "success"), (3, "success")]
    assert inside["peak"] == 1


def test_outcomes_completing_together_come_back_in_one_batch():
    from concurrent.futures import Future

    from tutti.workflows.executor import _gather

    first, second, later = Future(), Future(), Future()
    for f in (first, second):
        f.set_result(StepOutcome(status="success"))
    done, pending = _gather({first}, {second, later})
    assert done == {first, second} and pending == {later}


def test_inline_executor_runs_in_order_in_the_calling_thread():
    seen: list[str] = []

    def body(i):
        return lambda: (seen.append(threading.current_thread().name), StepOutcome(status="success"))[1]

    batches = list(InlineExecutor().run_wave([_task(i, body(i), True) for i in (1, 2, 3)]))
    assert [b[0][0].step.index for b in batches] == [1, 2, 3]
    assert set(seen) == {threading.current_thread().name}


def test_the_bound_defaults_to_the_core_count_and_follows_the_setting(monkeypatch):
    import os

    monkeypatch.delenv("TUTTI_WORKFLOW_MAX_PARALLEL", raising=False)
    assert default_parallelism() == (os.cpu_count() or 1)
    monkeypatch.setenv("TUTTI_WORKFLOW_MAX_PARALLEL", "3")
    assert default_parallelism() == 3
    monkeypatch.setenv("TUTTI_WORKFLOW_MAX_PARALLEL", "zero")
    assert default_parallelism() == (os.cpu_count() or 1)


def test_engine_runs_a_wave_of_commands_within_the_bound(make_ws, monkeypatch):
    """Three independent steps with a bound of 1 never overlap (each checks it is alone)."""
    monkeypatch.setenv("TUTTI_WORKFLOW_MAX_PARALLEL", "1")
    step = ('[[workflow.step]]\ntype = "command"\n'
            'run = "mkdir lock.d || exit 7; sleep 0.2; rmdir lock.d"\ndepends_on = []\n')
    ws = make_ws('[[workflow]]\nname = "w"\n' + step * 3)
    result = ops.run_workflow(ws, "w")
    assert result.success, result.failure_message()


def _intent(ws, run_id: str, key: str) -> dict:
    return json.loads((ws.state_dir / "workflow-intents" / run_id / f"{key}.json").read_text())


def test_mirror_files_are_complete_after_a_long_run(make_ws):
    n = 120
    steps = "".join(f'[[workflow.step]]\ntype = "command"\nrun = "true"\nidempotent = true\n'
                    f'depends_on = [{i - 1}]\n' if i > 1 else '[[workflow.step]]\ntype = "command"\nrun = "true"\n'
                    for i in range(1, n + 1))
    ws = make_ws('[[workflow]]\nname = "long"\n' + steps)
    result = ops.run_workflow(ws, "long")
    assert result.success
    checkpoint = json.loads((ws.state_dir / "workflow-checkpoints" / f"{result.run_id}.json").read_text())
    assert checkpoint["completed_steps"] == list(range(1, n + 1)) and checkpoint["success"] is True
    assert [r["step_index"] for r in checkpoint["step_results"]] == list(range(1, n + 1))
    assert list(checkpoint) == ["run_id", "workflow_name", "strict", "origin", "agent_scope", "started_at",
                                "finished_at", "success", "failed_steps", "step_results", "output_files",
                                "completed_steps"]
    for i in (1, n // 2, n):
        assert _intent(ws, result.run_id, f"{i:03d}-command")["outcome"]["status"] == "success"
    # one transaction per step of a chain: the outcome of step i commits with the intent of i+1
    events = ws.store.read_events(0, run_id=result.run_id, limit=10000)
    kinds = [e.kind for e in events if e.kind.startswith("workflow.step.")]
    assert kinds == ["workflow.step.started", "workflow.step.completed"] * n


def test_resume_rewrites_the_mirrors_a_crash_cut_off(make_ws):
    body = textwrap.dedent("""
        [[workflow]]
        name = "three"
        [[workflow.step]]
        type = "command"
        run = "echo 1 >> trace"
        [[workflow.step]]
        type = "command"
        run = "echo 2 >> trace"
        [[workflow.step]]
        type = "command"
        run = "test -f go && echo 3 >> trace"
        fail_mode = "closed"
    """)
    ws = make_ws(body)
    first = ops.run_workflow(ws, "three")
    assert first.failed_steps == [3]
    # What a SIGKILL right after the outcomes committed can leave: mirrors missing or stale.
    intents = ws.state_dir / "workflow-intents" / first.run_id
    (intents / "001-command.json").unlink()
    stale = _intent(ws, first.run_id, "002-command")
    stale.pop("outcome")
    (intents / "002-command.json").write_text(json.dumps(stale))
    (ws.state_dir / "workflow-checkpoints" / f"{first.run_id}.json").unlink()
    finished_1 = ws.store.query("SELECT finished_at FROM steps WHERE run_id = ? AND step_index = 1",
                                (first.run_id,))[0]["finished_at"]

    (Path(ws.root) / "go").touch()
    again = ops.run_workflow(ws, None, resume=first.run_id)
    assert again.success
    assert (Path(ws.root) / "trace").read_text().split() == ["1", "2", "3"]
    one = _intent(ws, first.run_id, "001-command")
    assert one["outcome"]["status"] == "success" and one["outcome"]["completed_at"] == finished_1
    assert _intent(ws, first.run_id, "002-command")["outcome"]["status"] == "success"
    assert _intent(ws, first.run_id, "003-command")["attempt"] == 2
    checkpoint = json.loads((ws.state_dir / "workflow-checkpoints" / f"{first.run_id}.json").read_text())
    assert checkpoint["completed_steps"] == [1, 2, 3] and checkpoint["failed_steps"] == []
