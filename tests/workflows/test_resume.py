"""Crash safety: a run killed with SIGKILL resumes with only the unfinished steps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tutti.errors import NotFoundError, UsageError
from tutti.ops import run as ops
from tutti.workspace import load_workspace_at

from .helpers import alive, kill_group_of, wait_for

FIVE = textwrap.dedent("""
    [[workflow]]
    name = "five"
    [[workflow.step]]
    type = "command"
    run = "echo 1 >> trace"
    fail_mode = "closed"
    [[workflow.step]]
    type = "command"
    run = "echo 2 >> trace"
    fail_mode = "closed"
    [[workflow.step]]
    type = "command"
    run = "echo 3 >> trace; echo $$ > step3.pid; test -f go || sleep 120"
    fail_mode = "closed"
    [[workflow.step]]
    type = "command"
    run = "echo 4 >> trace"
    fail_mode = "closed"
    [[workflow.step]]
    type = "command"
    run = "echo 5 >> trace"
    fail_mode = "closed"
""")


def _tt(*args, cwd):
    return subprocess.Popen([sys.executable, "-m", "tutti", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_sigkill_during_step_3_then_resume_adopts_step_3_and_runs_4_and_5(make_ws, git_repo):
    """Step 3's command outlives the killed `tt` under its step supervisor; the resume waits for
    it and adopts its outcome instead of running a second copy beside it."""
    make_ws(FIVE.replace("test -f go || sleep 120", "while ! test -f go; do sleep 0.05; done"))
    proc = _tt("run", "five", cwd=git_repo)
    pid_file = git_repo / "step3.pid"
    try:
        wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), timeout=60)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        _resume_and_check(git_repo, int(pid_file.read_text()))
    finally:
        (git_repo / "go").touch()
        if pid_file.exists() and pid_file.read_text().strip():
            kill_group_of(int(pid_file.read_text()))  # never leave the step behind


def _resume_and_check(git_repo, step3: int) -> None:
    assert alive(step3)  # the crashed tt's step-3 command still runs, under its supervisor
    ws = load_workspace_at(git_repo)
    run_id = ws.store.query("SELECT run_id FROM runs WHERE workflow = 'five'")[0]["run_id"]
    steps = {r["step_index"]: r["status"] for r in ws.store.query("SELECT * FROM steps WHERE run_id = ?", (run_id,))}
    assert steps == {1: "success", 2: "success", 3: "running"}  # the crash left step 3's intent, no outcome
    assert ops.get_run(ws, run_id)["status"] == "interrupted"
    last_seq = ws.store.latest_seq()

    resumed = subprocess.Popen([sys.executable, "-m", "tutti", "run", "--resume", run_id], cwd=git_repo,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The resume waits for the step-3 command (still alive) instead of starting it again.
    wait_for(lambda: any(e.kind == "workflow.step.started" for e in ws.store.read_events(last_seq, run_id=run_id)))
    assert alive(step3) and resumed.poll() is None
    (git_repo / "go").touch()
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err

    ws = load_workspace_at(git_repo)
    rows = {r["step_index"]: r for r in ws.store.query("SELECT * FROM steps WHERE run_id = ?", (run_id,))}
    assert {i: r["status"] for i, r in rows.items()} == {i: "success" for i in range(1, 6)}
    assert {i: r["attempt"] for i, r in rows.items()} == {1: 1, 2: 1, 3: 2, 4: 1, 5: 1}
    # The record says which attempt produced step 3's outcome: the first one, adopted.
    assert json.loads(rows[3]["outcome"])["side_effects"]["supervised"] == {"attempt": 1, "try": 1, "adopted": True}
    after = ws.store.read_events(after_seq=last_seq, run_id=run_id)
    started = [e.data["step_index"] for e in after if e.kind == "workflow.step.started"]
    assert started == [3, 4, 5]
    assert after[0].kind == "workflow.started" and after[0].data["resumed"] is True
    assert after[-1].kind == "workflow.completed"
    assert ws.store.query("SELECT status FROM runs WHERE run_id = ?", (run_id,))[0]["status"] == "succeeded"
    assert (git_repo / "trace").read_text().split() == ["1", "2", "3", "4", "5"]  # step 3 ran once
    assert "will run: 3 003-command (attempt 2), 4 004-command (attempt 1), 5 005-command (attempt 1)" in out
    assert not alive(step3)
    assert not [e for e in after if e.kind == "workflow.orphans_killed"]


def test_resume_of_a_failed_run_reruns_from_the_failed_step(make_ws):
    ws = make_ws(FIVE.replace("test -f go || sleep 120", "test -f go"))
    first = ops.run_workflow(ws, "five")
    assert first.failed_steps == [3]
    (ws.root / "go").touch()
    second = ops.run_workflow(ws, None, resume=first.run_id)
    assert second.success and second.run_id == first.run_id and second.resumed
    assert (ws.root / "trace").read_text().split() == ["1", "2", "3", "3", "4", "5"]
    assert ops.get_run(ws, first.run_id)["resumes"] == 1


def test_resume_of_an_unknown_run_is_not_found(make_ws):
    ws = make_ws(FIVE)
    with pytest.raises(NotFoundError, match="run 'nope' not found"):
        ops.run_workflow(ws, None, resume="nope")


def test_resume_rejects_malformed_run_ids(make_ws):
    ws = make_ws(FIVE)
    with pytest.raises(UsageError, match=r"invalid run_id '\.\./x'"):
        ops.run_workflow(ws, None, resume="../x")


def test_resume_of_a_succeeded_run_has_nothing_to_do(make_ws):
    ws = make_ws(FIVE.replace("test -f go || sleep 120", "true"))
    done = ops.run_workflow(ws, "five")
    assert done.success
    with pytest.raises(UsageError, match=f"run '{done.run_id}' already succeeded; nothing to resume"):
        ops.run_workflow(ws, None, resume=done.run_id)


def test_resume_refuses_when_the_workflow_changed(make_ws):
    ws = make_ws(FIVE.replace("test -f go || sleep 120", "false"))
    failed = ops.run_workflow(ws, "five")
    shorter = FIVE.replace('[[workflow.step]]\ntype = "command"\nrun = "echo 5 >> trace"\nfail_mode = "closed"\n', "")
    assert shorter != FIVE
    ws = make_ws(shorter)
    with pytest.raises(UsageError, match="changed since run"):
        ops.run_workflow(ws, None, resume=failed.run_id)


def test_resume_uses_the_compensator_preflight_of_half_done_steps(make_ws, plugin_executor):
    """A step whose intent has no outcome asks its executor's `already_done` before replaying."""
    plugin_executor("land", "landlike", """
        from pathlib import Path
        from tutti.workflows.steps import StepOutcome

        def execute(ctx, step):
            with open(ctx.workspace.root / "land-calls", "a") as fh:
                fh.write("x\\n")
            return StepOutcome(status="success", message="landed")

        def already_done(ctx, step, intent):
            return (ctx.workspace.root / "merged").exists()
    """)
    ws = make_ws(textwrap.dedent("""
        [[agent]]
        name = "a"
        runtime = "claude-code"
        [[workflow]]
        name = "ship"
        [[workflow.step]]
        type = "command"
        run = "true"
        [[workflow.step]]
        type = "land"
        agent = "a"
    """))
    # Simulate a crash after step 2's intent was committed but before its outcome.
    result = ops.run_workflow(ws, "ship")
    with ws.store.transaction() as conn:
        conn.execute("UPDATE steps SET status = 'running', outcome = NULL WHERE run_id = ? AND step_index = 2",
                     (result.run_id,))
        conn.execute("UPDATE runs SET status = 'running', params = json_set(params, '$.pid', 999999999) "
                     "WHERE run_id = ?", (result.run_id,))
    (ws.root / "merged").touch()
    preview = ops.resume_preview(ws, result.run_id)
    assert [s["index"] for s in preview["run"]] == [2] and "compensator preflight" in preview["compensator"][0]
    again = ops.run_workflow(ws, None, resume=result.run_id)
    assert again.success
    assert again.steps[1]["status"] == "skipped"
    assert (ws.root / "land-calls").read_text().count("x") == 1  # not replayed


def test_resume_refuses_a_run_that_is_still_running(make_ws):
    ws = make_ws(FIVE)
    run_id = ops.start_run(ws, "five")
    try:
        wait_for(lambda: (ws.root / "step3.pid").exists())
        with pytest.raises(UsageError, match="is still running"):
            ops.run_workflow(ws, None, resume=run_id)
    finally:
        ops.cancel_run(ws, run_id)
        wait_for(lambda: ops.get_run(ws, run_id)["status"] == "cancelled")
    assert os.path.exists(ws.state_dir / "workflow-checkpoints" / f"{run_id}.json")
    checkpoint = json.loads((ws.state_dir / "workflow-checkpoints" / f"{run_id}.json").read_text())
    assert checkpoint["completed_steps"] == [1, 2]


def test_a_reused_pid_does_not_make_a_dead_run_look_running(make_ws):
    from tutti.proctree import start_ticks

    ws = make_ws(FIVE.replace("test -f go || sleep 120", "false"))
    failed = ops.run_workflow(ws, "five")
    other = subprocess.Popen(["sleep", "30"])  # a live process standing in for "the pid got reused"
    try:
        for started, expected in ((start_ticks(other.pid), "running"), (1, "interrupted")):
            with ws.store.transaction() as conn:
                conn.execute("UPDATE runs SET status = 'running', params = json_set(json_set(params, '$.pid', ?), "
                             "'$.pid_started', ?) WHERE run_id = ?", (other.pid, started, failed.run_id))
            assert ops.get_run(ws, failed.run_id)["status"] == expected
    finally:
        other.kill()
        other.wait()
