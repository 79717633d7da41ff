"""Nested `workflow` steps: their own run, linked to the parent; cycles refused."""

from __future__ import annotations

import textwrap

from tutti.ops import run as ops

from .helpers import unvalidated_workspace

NESTED = textwrap.dedent("""
    [[workflow]]
    name = "outer"
    [[workflow.step]]
    type = "command"
    run = "echo outer >> trace"
    [[workflow.step]]
    type = "workflow"
    workflow = "inner"
    [[workflow.step]]
    type = "command"
    run = "echo after >> trace"
    [[workflow]]
    name = "inner"
    [[workflow.step]]
    type = "command"
    run = "echo inner-1 >> trace"
    [[workflow.step]]
    type = "command"
    run = "echo inner-2 >> trace; test -f go"
    fail_mode = "closed"
""")


def test_nested_workflow_is_its_own_run_linked_to_the_parent(make_ws):
    ws = make_ws(NESTED)
    (ws.root / "go").touch()
    result = ops.run_workflow(ws, "outer")
    assert result.success, result.failure_message()
    child = result.steps[1]["side_effects"]["child_run_id"]
    assert child != result.run_id
    assert ops.get_run(ws, child)["parent_run_id"] == result.run_id
    assert ops.get_run(ws, result.run_id)["children"] == [child]
    assert (ws.root / "trace").read_text().split() == ["outer", "inner-1", "inner-2", "after"]


def test_failed_nested_workflow_fails_the_parent_and_resume_continues_the_child(make_ws):
    ws = make_ws(NESTED)
    first = ops.run_workflow(ws, "outer")
    assert first.failed_steps == [2]
    child = first.steps[1]["side_effects"]["child_run_id"]
    assert f"nested workflow 'inner' failed (run {child})" in first.steps[1]["message"]
    (ws.root / "go").touch()
    again = ops.run_workflow(ws, None, resume=first.run_id)
    assert again.success
    assert again.steps[1]["side_effects"]["child_run_id"] == child  # the same child run, resumed
    # inner-1 ran once: the child's completed step was not replayed.
    assert (ws.root / "trace").read_text().split() == ["outer", "inner-1", "inner-2", "inner-2", "after"]


def test_nested_workflow_cycle_fails_instead_of_recursing(git_repo):
    # Config validation rejects such cycles; the engine guards anyway (defense in depth), so
    # build the workspace from the raw model, bypassing validation.
    text = textwrap.dedent("""
        [workspace]
        name = "demo"
        [[workflow]]
        name = "a"
        [[workflow.step]]
        type = "workflow"
        workflow = "b"
        [[workflow]]
        name = "b"
        [[workflow.step]]
        type = "workflow"
        workflow = "a"
    """)
    ws = unvalidated_workspace(git_repo, text)
    result = ops.run_workflow(ws, "a")
    assert not result.success
    assert "nested workflow cycle: a → b → a" in result.failure_message()


def test_nested_strict_defaults_to_the_parent(make_ws):
    ws = make_ws(textwrap.dedent("""
        [[workflow]]
        name = "outer"
        [[workflow.step]]
        type = "workflow"
        workflow = "inner"
        [[workflow]]
        name = "inner"
        [[workflow.step]]
        type = "command"
        run = "exit 1"
    """))
    assert ops.run_workflow(ws, "outer").success  # inner's open failure is a warning
    strict = ops.run_workflow(ws, "outer", strict=True)
    assert not strict.success
