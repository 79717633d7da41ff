"""Plan resolution: agent override, cwd, fail modes, dependency waves, resolver-time errors."""

from __future__ import annotations

import textwrap

import pytest

from tutti.errors import ConfigError, NotFoundError
from tutti.workflows.plan import resolve_plan

from .helpers import unvalidated_workspace

AGENTS = textwrap.dedent("""
    [[agent]]
    name = "dev"
    runtime = "claude-code"
    [[agent]]
    name = "ops"
    runtime = "codex"
    [[agent]]
    name = "reviewer"
    runtime = "codex"
""")


def test_fail_modes_follow_strict_and_force_open(make_ws):
    ws = make_ws(AGENTS + textwrap.dedent("""
        [[workflow]]
        name = "w"
        [[workflow.step]]
        type = "command"
        run = "true"
        fail_mode = "closed"
        [[workflow.step]]
        type = "command"
        run = "true"
        [[workflow.step]]
        type = "ensure_running"
        agent = "dev"
        fail_mode = "open"
        [[workflow.step]]
        type = "land"
        agent = "dev"
    """))
    def modes(**kw):
        return [s.fail_mode for s in resolve_plan(ws, "w", **kw).steps]

    assert modes() == ["closed", "open", "open", "closed"]
    assert modes(strict=True) == ["closed", "closed", "closed", "closed"]
    assert modes(force_open=True) == ["open", "open", "open", "closed"]


def test_agent_override_replaces_agent_steps_and_fills_command_steps(make_ws):
    ws = make_ws(AGENTS + textwrap.dedent("""
        [[workflow]]
        name = "w"
        [[workflow.step]]
        type = "prompt"
        agent = "dev"
        text = "hi"
        [[workflow.step]]
        type = "command"
        run = "true"
        [[workflow.step]]
        type = "command"
        agent = "dev"
        run = "true"
        [[workflow.step]]
        type = "review"
        agent = "dev"
    """))
    plan = resolve_plan(ws, "w", agent="ops")
    # issue #11: like the original, --agent re-targets command steps with their own agent too
    assert [s.agent for s in plan.steps] == ["ops", "ops", "ops", "ops"]


def test_explicit_depends_on_builds_waves_for_every_step_type(make_ws):
    ws = make_ws(AGENTS + textwrap.dedent("""
        [[workflow]]
        name = "w"
        [[workflow.step]]
        type = "ensure_running"
        agent = "dev"
        [[workflow.step]]
        type = "ensure_running"
        agent = "ops"
        depends_on = []
        [[workflow.step]]
        type = "prompt"
        agent = "dev"
        text = "go"
        depends_on = [1]
        [[workflow.step]]
        type = "command"
        run = "true"
        depends_on = [2, 3]
    """))
    plan = resolve_plan(ws, "w")
    assert plan.waves == [[1, 2], [3], [4]]
    assert [s.key for s in plan.steps] == ["001-ensure_running", "002-ensure_running", "003-prompt", "004-command"]


def test_unknown_workflow_and_agent(make_ws):
    ws = make_ws(AGENTS + '[[workflow]]\nname = "w"\n[[workflow.step]]\ntype = "command"\nrun = "true"\n')
    with pytest.raises(NotFoundError, match="workflow 'nope' not found"):
        resolve_plan(ws, "nope")
    with pytest.raises(NotFoundError, match="unknown agent 'ghost'"):
        resolve_plan(ws, "w", agent="ghost")


def test_agent_worktree_cwd_needs_an_agent(make_ws):
    ws = make_ws(AGENTS + '[[workflow]]\nname = "w"\n[[workflow.step]]\ntype = "command"\nrun = "true"\n'
                 'cwd = "agent_worktree"\n')
    with pytest.raises(ConfigError, match=r"step 1 \(command\) → cwd: command step with cwd='agent_worktree' requires agent"):
        resolve_plan(ws, "w")


def test_missing_agent_worktree_is_reported_at_resolve_time(make_ws):
    ws = make_ws(AGENTS + '[[workflow]]\nname = "w"\n[[workflow.step]]\ntype = "command"\nrun = "true"\n'
                 'cwd = "agent_worktree"\nagent = "dev"\n')
    with pytest.raises(NotFoundError, match="agent worktree not found for 'dev'"):
        resolve_plan(ws, "w")


def test_worktree_check_is_deferred_when_an_earlier_step_starts_the_agent(make_ws):
    ws = make_ws(AGENTS + textwrap.dedent("""
        [[workflow]]
        name = "w"
        [[workflow.step]]
        type = "ensure_running"
        agent = "dev"
        [[workflow.step]]
        type = "command"
        run = "true"
        cwd = "agent_worktree"
        agent = "dev"
    """))
    step = resolve_plan(ws, "w").steps[1]
    assert step.check_cwd_at_run and step.cwd == ws.root / ".tutti" / "worktrees" / "dev"


def test_agent_without_worktree_runs_in_the_workspace(make_ws):
    ws = make_ws('[[agent]]\nname = "solo"\nruntime = "codex"\nworktree = false\n'
                 '[[workflow]]\nname = "w"\n[[workflow.step]]\ntype = "command"\nrun = "true"\n'
                 'cwd = "agent_worktree"\nagent = "solo"\n')
    assert resolve_plan(ws, "w").steps[0].cwd == ws.root


def test_missing_subdir_and_escaping_paths(make_ws):
    ws = make_ws('[[workflow]]\nname = "w"\n[[workflow.step]]\ntype = "command"\nrun = "true"\nsubdir = "nope"\n')
    with pytest.raises(NotFoundError, match="command step subdir does not exist: .*/nope"):
        resolve_plan(ws, "w")
    (ws.root / "pkg").mkdir()
    ws = unvalidated_workspace(ws.root, '[workspace]\nname = "d"\n[[workflow]]\nname = "w"\n[[workflow.step]]\n'
                               'type = "command"\nid = "x"\nrun = "true"\nsubdir = "pkg"\noutput_json = "../../outside.json"\n')
    with pytest.raises(ConfigError, match="output_json: '../../outside.json' must stay inside the workspace"):
        resolve_plan(ws, "w")


def test_cyclic_depends_on_is_a_config_error_even_without_validation(git_repo):
    text = ('[workspace]\nname = "d"\n[[workflow]]\nname = "w"\n'
            '[[workflow.step]]\ntype = "command"\nrun = "true"\ndepends_on = [2]\n'
            '[[workflow.step]]\ntype = "command"\nrun = "true"\ndepends_on = [1]\n')
    with pytest.raises(ConfigError, match="cyclic depends_on graph"):
        resolve_plan(unvalidated_workspace(git_repo, text), "w")
