"""Merge gates: the local gate (commands, workflow, review) and the github gate against the scripted forge."""

from __future__ import annotations

import textwrap

import pytest

from tutti.errors import GateError
from tutti.gates.merge import enforce, gate_for
from tutti.gates.review import Verdict, record_verdict
from tutti.workflows.engine import run_named

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
        enforce(ws, "impl", run_workflow=run_named)
    commit_file(wt, "ok.txt", "", "ok")
    assert enforce(ws, "impl", run_workflow=run_named).passed


def test_gate_none_always_passes(make_ws):
    ws = make_ws('\n[gate]\nkind = "none"\n')
    assert gate_for(ws).check(ws, "impl").passed


GITHUB_GATE = '\n[gate]\nkind = "github"\n'


def _forge_ws(make_ws, forge, extra: str = GITHUB_GATE):
    """A workspace whose origin is a bare repo of the scripted forge, main pushed, and agent
    'impl' with one commit on tutti/impl pushed too."""
    from tutti.forge.github import GitHub

    ws = make_ws(extra)
    meta = forge.create_repo("acme/widgets")
    git(ws.root, "remote", "add", "origin", meta["clone_url"])
    git(ws.root, "push", "-q", "origin", "main")
    wt = add_worktree(ws.root, "impl")
    commit_file(wt, "feature.txt", "ready\n", "feat: the feature")
    return ws, GitHub("acme/widgets")


def test_github_gate_requires_open_pr(make_ws, forge):
    ws, _ = _forge_ws(make_ws, forge)
    with pytest.raises(GateError, match="requires an open PR for branch 'tutti/impl'"):
        enforce(ws, "impl")
    assert forge.requests(r"/repos/acme/widgets/pulls$")


def test_github_gate_blocks_on_red_required_checks(make_ws, forge):
    from tutti.gates.github import push_and_open_pr

    ws, gh = _forge_ws(make_ws, forge)
    pr = push_and_open_pr(ws.root, "tutti/impl")
    gh.http.request("PUT", "/repos/acme/widgets/branches/main/protection",
                    json={"required_status_checks": {"strict": False, "contexts": ["lint", "unit"]}})
    gh.create_check_run(pr.head_sha, "lint", "failure")
    gh.create_check_run(pr.head_sha, "unit", "success")
    with pytest.raises(GateError, match=rf"required checks are not green for PR #{pr.number} \(lint: failure\)"):
        enforce(ws, "impl")
    gh.create_check_run(pr.head_sha, "lint", None)  # re-run in progress: pending still blocks
    with pytest.raises(GateError, match=r"lint: pending"):
        enforce(ws, "impl")


def test_github_gate_counts_unresolved_threads_across_pages(make_ws, forge):
    from tutti.gates.github import push_and_open_pr

    ws, gh = _forge_ws(make_ws, forge)
    pr = push_and_open_pr(ws.root, "tutti/impl")
    ids = [gh.http.request("POST", f"/repos/acme/widgets/pulls/{pr.number}/comments",
                           json={"body": f"nit {i}", "path": "feature.txt", "line": 1})["thread_id"] for i in range(103)]
    for thread in ids[:101]:
        gh.resolve_thread(thread)
    with pytest.raises(GateError, match=f"PR #{pr.number} has 2 unresolved review thread"):
        enforce(ws, "impl")
    assert len(forge.requests(r"^/graphql$")) >= 101 + 2  # 101 resolutions, then two pages of threads


def test_github_gate_passes_when_green_and_resolved(make_ws, forge):
    from tutti.gates.github import push_and_open_pr

    ws, gh = _forge_ws(make_ws, forge)
    pr = push_and_open_pr(ws.root, "tutti/impl")
    thread = gh.http.request("POST", f"/repos/acme/widgets/pulls/{pr.number}/comments",
                             json={"body": "rename this", "path": "feature.txt", "line": 1})["thread_id"]
    gh.create_check_run(pr.head_sha, "ci", "success")
    with pytest.raises(GateError, match="1 unresolved review thread"):
        enforce(ws, "impl")
    gh.resolve_thread(thread)
    result = enforce(ws, "impl")
    assert result.passed and f"Merge gate passed for PR #{pr.number} on branch 'tutti/impl'" in result.message


def test_github_gate_without_token_is_one_clear_error(make_ws, forge, monkeypatch, tmp_path):
    import shutil

    ws, _ = _forge_ws(make_ws, forge)
    monkeypatch.delenv("GITHUB_TOKEN")
    only_git = tmp_path / "only-git"
    only_git.mkdir()
    (only_git / "git").symlink_to(shutil.which("git"))
    monkeypatch.setenv("PATH", str(only_git))  # no gh to ask either
    with pytest.raises(GateError, match="no GitHub token found"):
        enforce(ws, "impl")


def test_push_and_open_pr_pushes_to_remote_then_creates_pr(make_ws, forge):
    from tutti.gates.github import push_and_open_pr

    ws, gh = _forge_ws(make_ws, forge)
    pr = push_and_open_pr(ws.root, "tutti/impl")
    bare = forge.github.git_dir("acme/widgets")
    assert git(bare, "rev-parse", "tutti/impl").strip() == git(ws.root, "rev-parse", "tutti/impl").strip()
    opened = gh.get_pr(pr.number)
    assert (opened.head, opened.base, opened.url) == ("tutti/impl", "main", f"{forge.url}/acme/widgets/pull/{pr.number}")
    assert forge.github.repo("acme/widgets")["issues"][str(pr.number)]["title"] == "feat: the feature"
    again = push_and_open_pr(ws.root, "tutti/impl")  # idempotent: reuses the open PR
    assert again.number == pr.number
    assert len(forge.requests(r"/pulls$")) == 3 and sum(1 for r in forge.requests(r"/pulls$") if r["method"] == "POST") == 1
