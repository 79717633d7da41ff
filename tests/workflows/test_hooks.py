"""workflow_complete and agent_stop hooks."""

from __future__ import annotations

import textwrap

from tutti.ops import run as ops
from tutti.workflows.engine import fire_agent_stop
from tutti.workflows.hooks import hook_failure_message

BASE = textwrap.dedent("""
    [[agent]]
    name = "dev"
    runtime = "claude-code"
    worktree = false
    [[workflow]]
    name = "build"
    [[workflow.step]]
    type = "command"
    run = "true"
    [[workflow]]
    name = "notify"
    [[workflow.step]]
    type = "command"
    run = "echo notified >> notify.log"
""")


def test_workflow_complete_run_hook_sees_the_run(make_ws):
    ws = make_ws(BASE + textwrap.dedent("""
        [[hook]]
        event = "workflow_complete"
        run = "echo $TUTTI_WORKFLOW $TUTTI_RUN_STATUS $TUTTI_RUN_ID >> hook.log"
    """))
    result = ops.run_workflow(ws, "build")
    assert result.success
    lines = (ws.root / "hook.log").read_text().splitlines()
    assert lines == [f"build succeeded {result.run_id}"]
    assert result.hooks[0]["success"] is True
    kinds = [e.kind for e in ws.store.read_events(kind_prefix="hook.")]
    assert kinds == ["hook.completed"]


def test_workflow_complete_filters_by_name_source_and_agent(make_ws):
    ws = make_ws(BASE + textwrap.dedent("""
        [[hook]]
        event = "workflow_complete"
        workflow_name = "other"
        run = "touch by-name"
        [[hook]]
        event = "workflow_complete"
        workflow_source = "verify"
        run = "touch by-source"
        [[hook]]
        event = "workflow_complete"
        agent = "dev"
        run = "touch by-agent"
    """))
    ops.run_workflow(ws, "build")
    assert not any((ws.root / f).exists() for f in ("by-name", "by-source", "by-agent"))
    ops.run_workflow(ws, "build", agent="dev")
    assert (ws.root / "by-agent").exists() and not (ws.root / "by-source").exists()
    ops.verify(ws, "build")
    assert (ws.root / "by-source").exists()


def test_workflow_hook_runs_once_with_recursion_guard(make_ws):
    # `notify` completing would match this hook again; hook-originated runs never fire it.
    ws = make_ws(BASE + textwrap.dedent("""
        [[hook]]
        event = "workflow_complete"
        workflow = "notify"
    """))
    result = ops.run_workflow(ws, "build")
    assert result.success
    assert (ws.root / "notify.log").read_text().splitlines() == ["notified"]
    child = result.hooks[0]["run_id"]
    assert ops.get_run(ws, child)["origin"] == "hook_workflow_complete"
    assert ops.get_run(ws, child)["parent_run_id"] == result.run_id


def test_open_hook_failure_is_a_recorded_warning(make_ws):
    ws = make_ws(BASE + '[[hook]]\nevent = "workflow_complete"\nrun = "exit 3"\n')
    result = ops.run_workflow(ws, "build")
    assert result.success
    assert result.hooks[0]["success"] is False and "hook command failed (exit 3)" in result.hooks[0]["message"]


def test_closed_hook_failure_fails_the_run(make_ws):
    ws = make_ws(BASE + '[[hook]]\nevent = "workflow_complete"\nrun = "exit 3"\nfail_mode = "closed"\n')
    result = ops.run_workflow(ws, "build")
    assert result.status == "failed"
    assert result.error.startswith("workflow_complete hook failed for workflow 'build': hook command failed (exit 3)")
    assert ops.get_run(ws, result.run_id)["status"] == "failed"


def test_agent_stop_hooks_run_for_the_stopped_agent(make_ws):
    ws = make_ws(BASE + textwrap.dedent("""
        [[hook]]
        event = "agent_stop"
        agent = "dev"
        run = "echo stopped $TUTTI_AGENT >> stop.log"
        [[hook]]
        event = "agent_stop"
        workflow = "notify"
        fail_mode = "closed"
        [[hook]]
        event = "agent_stop"
        run = "exit 1"
        fail_mode = "closed"
    """))
    results = fire_agent_stop(ws, "dev")
    assert [r.success for r in results] == [True, True, False]
    assert (ws.root / "stop.log").read_text().split() == ["stopped", "dev"]
    assert (ws.root / "notify.log").exists()
    assert ops.get_run(ws, results[1].run_id)["origin"] == "hook_agent_stop"
    assert hook_failure_message(results).startswith("hook failures: hook command failed (exit 1)")


def test_agent_stop_hooks_of_other_agents_do_not_run(make_ws):
    ws = make_ws(BASE + '[[hook]]\nevent = "agent_stop"\nagent = "dev"\nrun = "touch x"\n')
    assert fire_agent_stop(ws, "someone-else") == []
    assert not (ws.root / "x").exists()
