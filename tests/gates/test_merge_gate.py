"""Merge gates: the local gate (commands, workflow, review) and the github gate via a fake `gh`."""

from __future__ import annotations

import textwrap

import pytest

from tutti.errors import GateError
from tutti.gates.merge import enforce, gate_for
from tutti.gates.review import Verdict, record_verdict

from .conftest import add_worktree, commit_file, git

LOCAL_GATE = """
[gate]
kind = "local"
commands = ["test -f feature.txt", "grep -q ready feature.txt"]
"""


def test_local_gate_passes_when_commands_pass_in_agent_worktree(make_ws):
    ws = make_ws(LOCAL_GATE)
    wt = add_worktree(ws.root, "impl")
    commit_file(wt, "feature.txt", "ready\n", "feature")
    result = enforce(ws, "impl")
    assert result.passed and result.gate == "local"
    assert [c["passed"] for c in result.checks] == [True, True]
    assert ws.store.read_events(kinds=["gate.passed"])[0].agent == "impl"


def test_local_gate_blocks_on_failing_command_and_says_which(make_ws):
    ws = make_ws(LOCAL_GATE)
    wt = add_worktree(ws.root, "impl")
    commit_file(wt, "feature.txt", "draft\n", "feature")
    with pytest.raises(GateError, match=r"`grep -q ready feature.txt` failed \(exit 1\)"):
        enforce(ws, "impl")
    assert ws.store.read_events(kinds=["gate.blocked"])


def test_local_gate_require_review_needs_current_approval(make_ws):
    ws = make_ws('\n[gate]\nkind = "local"\nrequire_review = true\n')
    wt = add_worktree(ws.root, "impl")
    commit_file(wt, "a.py", "x = 1\n", "a")
    with pytest.raises(GateError, match="no review verdict recorded for 'impl'"):
        enforce(ws, "impl")
    head = git(ws.root, "rev-parse", "tutti/impl").strip()
    record_verdict(ws, Verdict("request_changes", "no", agent="impl", reviewer="reviewer", head=head,
                               findings=[]))
    with pytest.raises(GateError, match="reviewer 'reviewer' requested changes"):
        enforce(ws, "impl")
    record_verdict(ws, Verdict("approve", "ok", agent="impl", reviewer="reviewer", head=head))
    assert enforce(ws, "impl").passed
    commit_file(wt, "b.py", "y = 2\n", "b after approval")
    with pytest.raises(GateError, match="approval of 'impl' is for .* review again"):
        enforce(ws, "impl")


def test_local_gate_runs_named_workflow_with_agent_scope(make_ws):
    ws = make_ws(textwrap.dedent("""
        [gate]
        kind = "local"
        workflow = "check"

        [[workflow]]
        name = "check"
        [[workflow.step]]
        type = "command"
        cwd = "agent_worktree"
        run = "test -f ok.txt"
        fail_mode = "closed"
    """))
    wt = add_worktree(ws.root, "impl")
    with pytest.raises(GateError, match="workflow 'check' failed"):
        enforce(ws, "impl")
    commit_file(wt, "ok.txt", "", "ok")
    assert enforce(ws, "impl").passed


def test_gate_none_always_passes(make_ws):
    ws = make_ws('\n[gate]\nkind = "none"\n')
    assert gate_for(ws).check(ws, "impl").passed


GITHUB_GATE = '\n[gate]\nkind = "github"\n'


def test_github_gate_requires_open_pr(make_ws, fake_gh):
    set_state, calls = fake_gh
    ws = make_ws(GITHUB_GATE)
    set_state(prs=[])
    with pytest.raises(GateError, match="requires an open PR for branch 'tutti/impl'"):
        enforce(ws, "impl")
    assert ["pr", "list", "--head", "tutti/impl", "--state", "open", "--limit", "1", "--json", "number,url"] in calls()


def test_github_gate_blocks_on_red_required_checks(make_ws, fake_gh):
    set_state, _ = fake_gh
    ws = make_ws(GITHUB_GATE)
    set_state(prs=[{"number": 12, "url": "u"}], checks_exit=1, checks_output="lint\tfail\t1m\nunit\tpass\t2m")
    with pytest.raises(GateError, match=r"required checks are not green for PR #12 \(lint\tfail"):
        enforce(ws, "impl")


def test_github_gate_counts_unresolved_threads_across_pages(make_ws, fake_gh):
    set_state, calls = fake_gh
    ws = make_ws(GITHUB_GATE)
    set_state(prs=[{"number": 12, "url": "u"}], thread_pages=[[True] * 100, [True, False], [False]])
    with pytest.raises(GateError, match="PR #12 has 2 unresolved review thread"):
        enforce(ws, "impl")
    graphql = [c for c in calls() if c[:2] == ["api", "graphql"]]
    assert len(graphql) == 3 and "owner=acme" in graphql[0] and "number=12" in graphql[0]


def test_github_gate_passes_when_green_and_resolved(make_ws, fake_gh):
    set_state, _ = fake_gh
    ws = make_ws(GITHUB_GATE)
    set_state(prs=[{"number": 12, "url": "u"}], thread_pages=[[True, True]])
    result = enforce(ws, "impl")
    assert result.passed and "Merge gate passed for PR #12 on branch 'tutti/impl'" in result.message


def test_push_and_open_pr_pushes_to_remote_then_creates_pr(make_ws, fake_gh, tmp_path):
    from tutti.gates.github import push_and_open_pr

    _, calls = fake_gh
    ws = make_ws()
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(ws.root, "remote", "add", "origin", str(remote))
    wt = add_worktree(ws.root, "impl")
    commit_file(wt, "f.txt", "x\n", "feature")
    pr = push_and_open_pr(ws.root, "tutti/impl")
    assert pr.number == 7
    assert git(remote, "rev-parse", "tutti/impl").strip() == git(ws.root, "rev-parse", "tutti/impl").strip()
    assert ["pr", "create", "--head", "tutti/impl", "--base", "main", "--fill"] in calls()
    again = push_and_open_pr(ws.root, "tutti/impl")  # idempotent: reuses the open PR
    assert again.number == 7
    assert sum(1 for c in calls() if c[:2] == ["pr", "create"]) == 1
