"""The scheduler: waves, parallelism, fail modes, persistence order, cancel, background runs."""

from __future__ import annotations

import json
import textwrap
from datetime import datetime

from tutti.ops import run as ops

from .helpers import alive, wait_for


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _steps(ws, run_id):
    return {r["step_index"]: r for r in ws.store.query("SELECT * FROM steps WHERE run_id = ?", (run_id,))}


def test_independent_steps_of_a_wave_run_in_parallel(make_ws):
    ws = make_ws(textwrap.dedent("""
        [[workflow]]
        name = "par"
        [[workflow.step]]
        type = "command"
        run = "sleep 1"
        depends_on = []
        [[workflow.step]]
        type = "command"
        run = "sleep 1"
        depends_on = []
        [[workflow.step]]
        type = "command"
        run = "true"
        depends_on = [1, 2]
    """))
    result = ops.run_workflow(ws, "par")
    assert result.success
    rows = _steps(ws, result.run_id)
    a, b = rows[1], rows[2]
    # The two intervals overlap: each started before the other finished.
    assert _ts(a["started_at"]) < _ts(b["finished_at"]) and _ts(b["started_at"]) < _ts(a["finished_at"])
    # Step 3 waited for both.
    assert _ts(rows[3]["started_at"]) >= max(_ts(a["finished_at"]), _ts(b["finished_at"]))


def test_steps_without_depends_on_follow_the_previous_step(make_ws):
    ws = make_ws(textwrap.dedent("""
        [[workflow]]
        name = "seq"
        [[workflow.step]]
        type = "command"
        run = "echo one >> order.txt"
        [[workflow.step]]
        type = "command"
        run = "echo two >> order.txt"
        [[workflow.step]]
        type = "command"
        run = "echo three >> order.txt"
    """))
    plan = ops.dry_run(ws, "seq")
    assert plan["waves"] == [[1], [2], [3]]
    assert ops.run_workflow(ws, "seq").success
    assert (ws.root / "order.txt").read_text().split() == ["one", "two", "three"]


def test_outcome_is_committed_before_a_dependent_step_starts(make_ws):
    ws = make_ws(textwrap.dedent("""
        [[workflow]]
        name = "seq"
        [[workflow.step]]
        type = "command"
        run = "true"
        [[workflow.step]]
        type = "command"
        run = "true"
    """))
    result = ops.run_workflow(ws, "seq")
    kinds = [(e.kind, e.data.get("step_index")) for e in ws.store.read_events(run_id=result.run_id)]
    assert kinds.index(("workflow.step.completed", 1)) < kinds.index(("workflow.step.started", 2))
    assert kinds[0][0] == "workflow.started" and kinds[-1][0] == "workflow.completed"


def test_closed_failure_stops_scheduling_later_waves(make_ws):
    ws = make_ws(textwrap.dedent("""
        [[workflow]]
        name = "stop"
        [[workflow.step]]
        type = "command"
        run = "exit 4"
        fail_mode = "closed"
        [[workflow.step]]
        type = "command"
        run = "touch never-ran"
    """))
    result = ops.run_workflow(ws, "stop")
    assert result.status == "failed" and result.failed_steps == [1]
    assert not (ws.root / "never-ran").exists()
    assert "command failed (exit 4): exit 4" in result.failure_message()
    assert [s["status"] for s in result.steps] == ["failed", "not_run"]
    row = ws.store.query("SELECT status FROM runs WHERE run_id = ?", (result.run_id,))[0]
    assert row["status"] == "failed"


def test_open_failure_is_a_warning_and_dependents_continue(make_ws):
    ws = make_ws(textwrap.dedent("""
        [[workflow]]
        name = "open"
        [[workflow.step]]
        type = "command"
        run = "exit 1"
        [[workflow.step]]
        type = "command"
        run = "touch ran"
    """))
    result = ops.run_workflow(ws, "open")
    assert result.success and result.warning_count == 1
    assert result.steps[0]["status"] == "warning"
    assert (ws.root / "ran").exists()
    events = [e.kind for e in ws.store.read_events(run_id=result.run_id)]
    assert "workflow.step.warning" in events


def test_strict_makes_open_command_failures_fail_the_run(make_ws):
    ws = make_ws(textwrap.dedent("""
        [[workflow]]
        name = "open"
        [[workflow.step]]
        type = "command"
        run = "exit 1"
        [[workflow.step]]
        type = "command"
        run = "touch ran"
    """))
    result = ops.run_workflow(ws, "open", strict=True)
    assert not result.success and result.failed_steps == [1]
    assert not (ws.root / "ran").exists()


def test_checkpoint_is_rewritten_after_every_step(make_ws):
    ws = make_ws(textwrap.dedent("""
        [[workflow]]
        name = "cp"
        [[workflow.step]]
        type = "command"
        run = "true"
        [[workflow.step]]
        type = "command"
        run = "cat .tutti/state/workflow-checkpoints/$TUTTI_RUN_ID.json > seen.json"
    """))
    result = ops.run_workflow(ws, "cp")
    assert result.success
    mid = json.loads((ws.root / "seen.json").read_text())
    assert mid["completed_steps"] == [1] and mid["finished_at"] is None
    final = json.loads((ws.state_dir / "workflow-checkpoints" / f"{result.run_id}.json").read_text())
    assert final["completed_steps"] == [1, 2] and final["success"] is True
    intent = json.loads((ws.state_dir / "workflow-intents" / result.run_id / "002-command.json").read_text())
    assert intent["intent"]["run"].startswith("cat ") and intent["outcome"]["status"] == "success"
    ledger = [json.loads(x) for x in (ws.state_dir / "automation-runs.jsonl").read_text().splitlines()]
    assert ledger[-1]["run_id"] == result.run_id and ledger[-1]["trigger"] == "run" and ledger[-1]["success"]


def test_start_run_returns_at_once_and_cancel_kills_the_running_command(make_ws):
    ws = make_ws(textwrap.dedent("""
        [[workflow]]
        name = "long"
        [[workflow.step]]
        type = "command"
        run = "sleep 120 & echo $! > child.pid; wait"
        [[workflow.step]]
        type = "command"
        run = "touch never-ran"
    """))
    run_id = ops.start_run(ws, "long")
    assert ops.get_run(ws, run_id)["status"] == "running"
    pid_file = ws.root / "child.pid"
    wait_for(lambda: pid_file.exists() and pid_file.read_text().strip())
    child = int(pid_file.read_text())
    assert ops.cancel_run(ws, run_id) is True
    wait_for(lambda: ops.get_run(ws, run_id)["status"] == "cancelled")
    wait_for(lambda: not alive(child), timeout=10)
    run = ops.get_run(ws, run_id)
    # issue #11: the same word as the run result's (`not_run`), not `pending`, once the run is over
    assert run["steps"][0]["status"] == "cancelled" and run["steps"][1]["status"] == "not_run"
    assert not (ws.root / "never-ran").exists()
    kinds = [e.kind for e in ws.store.read_events(run_id=run_id)]
    assert kinds[-1] == "workflow.cancelled"
    assert run["next_action"] == f"tt run --resume {run_id}"


def test_cancel_of_a_finished_run_reports_false(make_ws):
    ws = make_ws('[[workflow]]\nname = "w"\n[[workflow.step]]\ntype = "command"\nrun = "true"\n')
    result = ops.run_workflow(ws, "w")
    assert ops.cancel_run(ws, result.run_id) is False


def test_step_type_without_executor_fails_with_a_clear_error(make_ws, monkeypatch):
    from tutti.workflows import steps

    monkeypatch.setitem(steps.EXECUTOR_MODULES, "ensure_running", "tutti.workflows.steps.not_built_yet")
    ws = make_ws(textwrap.dedent("""
        [[agent]]
        name = "a"
        runtime = "claude-code"
        [[workflow]]
        name = "w"
        [[workflow.step]]
        type = "ensure_running"
        agent = "a"
    """))
    result = ops.run_workflow(ws, "w")
    assert not result.success
    assert result.steps[0]["message"] == "step type 'ensure_running' needs the agent-sessions layer (not built yet)"


def test_direct_prompt_without_direct_layer_names_the_missing_module(make_ws, monkeypatch):
    from tutti.workflows import steps

    monkeypatch.setattr(steps, "DIRECT_PROMPT", "tutti.direct.not_built_step")
    ws = make_ws(textwrap.dedent("""
        [[agent]]
        name = "api"
        provider = "anthropic"
        [[workflow]]
        name = "w"
        [[workflow.step]]
        type = "prompt"
        agent = "api"
        text = "hello"
    """))
    result = ops.run_workflow(ws, "w")
    assert not result.success
    assert "API-direct prompt steps need tutti.direct.step" in result.steps[0]["message"]


def test_an_executor_crash_is_a_failed_step_not_a_crashed_run(make_ws, plugin_executor):
    plugin_executor("land", "broken_exec", "def execute(ctx, step):\n    raise RuntimeError('boom')\n")
    ws = make_ws(textwrap.dedent("""
        [[agent]]
        name = "a"
        runtime = "claude-code"
        [[workflow]]
        name = "w"
        [[workflow.step]]
        type = "land"
        agent = "a"
    """))
    result = ops.run_workflow(ws, "w")
    assert result.status == "failed"
    assert result.steps[0]["message"] == "internal error in land step: RuntimeError: boom"
    log = ws.tutti_dir / "logs" / "runs" / result.run_id / "001-land.log"
    assert "RuntimeError: boom" in log.read_text()


def test_executors_can_register_run_end_callbacks(make_ws, plugin_executor):
    plugin_executor("review", "finalizing", """
        from tutti.workflows.steps import StepOutcome

        def execute(ctx, step):
            root = ctx.workspace.root
            ctx.at_run_end(lambda: (root / "cleaned").write_text(ctx.run_id))
            return StepOutcome(status="success", message="ok")
    """)
    ws = make_ws(textwrap.dedent("""
        [[agent]]
        name = "a"
        runtime = "claude-code"
        [[agent]]
        name = "reviewer"
        runtime = "claude-code"
        [[workflow]]
        name = "w"
        [[workflow.step]]
        type = "review"
        agent = "a"
        [[workflow.step]]
        type = "command"
        run = "test ! -f cleaned"
        fail_mode = "closed"
    """))
    result = ops.run_workflow(ws, "w")
    assert result.success  # the callback ran after the steps, not during them
    assert (ws.root / "cleaned").read_text() == result.run_id


def test_an_executor_returning_garbage_is_a_failed_step(make_ws, plugin_executor):
    plugin_executor("land", "sloppy", "def execute(ctx, step):\n    return None\n")
    ws = make_ws('[[agent]]\nname = "a"\nruntime = "codex"\n[[workflow]]\nname = "w"\n'
                 '[[workflow.step]]\ntype = "land"\nagent = "a"\n')
    result = ops.run_workflow(ws, "w")
    assert result.steps[0]["message"] == "land executor returned NoneType, not a StepOutcome"
