"""Command steps: templating, output_json, retries, timeouts, big output, cwd, env, logs."""

from __future__ import annotations

import json
import textwrap

import pytest

from tutti.ops import run as ops

from .helpers import alive, wait_for


def _one_step(make_ws, step: str, extra: str = ""):
    return make_ws(f'{extra}\n[[workflow]]\nname = "w"\n[[workflow.step]]\ntype = "command"\n{step}\n')


def test_output_json_feeds_later_steps_shell_quoted(make_ws):
    # The output contains shell syntax; templating must deliver it as one literal argument.
    ws = make_ws(textwrap.dedent("""
        [[workflow]]
        name = "w"
        [[workflow.step]]
        type = "command"
        id = "gen"
        run = "printf '%s' '{\\"msg\\": \\"x; touch pwned\\"}' > gen.json"
        output_json = "gen.json"
        [[workflow.step]]
        type = "command"
        run = "printf '%s' {{output.gen.json}} > got.txt; cp {{output.gen.path}} copy.json"
    """))
    result = ops.run_workflow(ws, "w", strict=True)
    assert result.success, result.failure_message()
    assert json.loads((ws.root / "got.txt").read_text()) == {"msg": "x; touch pwned"}
    assert not (ws.root / "pwned").exists()
    stored = ws.state_dir / "workflow-outputs" / result.run_id / "gen.json"
    assert json.loads(stored.read_text()) == {"msg": "x; touch pwned"}
    assert json.loads((ws.root / "copy.json").read_text()) == {"msg": "x; touch pwned"}
    checkpoint = json.loads((ws.state_dir / "workflow-checkpoints" / f"{result.run_id}.json").read_text())
    assert checkpoint["output_files"] == {"gen": str(stored)}


def test_unresolved_output_template_fails_the_step(make_ws):
    ws = _one_step(make_ws, 'run = "echo {{output.nope.path}}"\nfail_mode = "closed"')
    result = ops.run_workflow(ws, "w")
    assert not result.success
    assert result.steps[0]["message"].startswith("unresolved workflow output template in step text: {{output.nope.path}}")


def test_output_json_that_is_not_json_fails_the_step(make_ws):
    ws = _one_step(make_ws, 'id = "x"\nrun = "echo not-json > x.json"\noutput_json = "x.json"\nfail_mode = "closed"')
    result = ops.run_workflow(ws, "w")
    assert not result.success
    assert result.steps[0]["message"].startswith("failed parsing output_json for step 'x'")


def test_stale_output_json_from_an_earlier_run_is_rejected(make_ws):
    ws = _one_step(make_ws, 'id = "x"\nrun = "true"\noutput_json = "x.json"\nfail_mode = "closed"')
    (ws.root / "x.json").write_text("{}")
    result = ops.run_workflow(ws, "w")
    assert not result.success
    assert "is stale" in result.steps[0]["message"]


def test_retries_follow_global_resilience_settings(make_ws, tutti_home):
    (tutti_home / "config.toml").write_text(
        "[resilience]\nretry_max_attempts = 3\nretry_initial_backoff_ms = 10\nretry_max_backoff_ms = 20\n")
    # Fails on attempts 1 and 2, succeeds on 3.
    ws = _one_step(make_ws, 'run = "echo x >> tries; test $(wc -l < tries) -ge 3"\nfail_mode = "closed"')
    result = ops.run_workflow(ws, "w")
    assert result.success
    assert result.steps[0]["attempts"] == 3
    assert (ws.root / "tries").read_text().count("x") == 3


def test_retries_exhausted_message_counts_attempts(make_ws, tutti_home):
    (tutti_home / "config.toml").write_text("[resilience]\nretry_max_attempts = 2\nretry_initial_backoff_ms = 10\n")
    ws = _one_step(make_ws, 'run = "exit 9"\nfail_mode = "closed"')
    result = ops.run_workflow(ws, "w")
    assert result.steps[0]["message"] == "command failed (exit 9): exit 9 (after 2 attempts)"


def test_timeout_kills_the_command_and_its_children(make_ws):
    ws = _one_step(make_ws, 'run = "sleep 120 & echo $! > child.pid; wait"\ntimeout_secs = 1\nfail_mode = "closed"')
    result = ops.run_workflow(ws, "w")
    step = result.steps[0]
    assert step["status"] == "timed_out" and step["timed_out"] is True
    assert step["message"].startswith("command timed out after 1s: sleep 120")
    child = int((ws.root / "child.pid").read_text())
    wait_for(lambda: not alive(child), timeout=10)


def test_a_step_printing_50_mb_completes(make_ws):
    ws = _one_step(make_ws, 'run = "head -c 52428800 /dev/zero | tr \'\\\\0\' x; echo; echo done >&2"\ntimeout_secs = 120\nfail_mode = "closed"')
    result = ops.run_workflow(ws, "w")
    assert result.success, result.failure_message()
    log = ws.tutti_dir / "logs" / "runs" / result.run_id / "001-command.log"
    size = log.stat().st_size
    assert 32 << 20 <= size < (32 << 20) + 4096  # capped on disk, and the run did not hang


# idempotent = true runs without the step supervisor, on the engine's own log: it holds a fast
# command's output in memory, so the file must still be opened once the command has run a while,
# also when the command then stays silent.
@pytest.mark.parametrize("extra", ["", "idempotent = true\n"], ids=["supervised", "idempotent"])
def test_output_is_streamed_to_the_step_log_while_running(make_ws, extra):
    ws = _one_step(make_ws, extra + 'run = "echo first; touch started; while [ ! -f go ]; do sleep 0.05; done; '
                                    'x=second; echo $x-out"')
    run_id = ops.start_run(ws, "w")
    log = ws.tutti_dir / "logs" / "runs" / run_id / "001-command.log"
    wait_for(lambda: (ws.root / "started").exists())
    wait_for(lambda: log.exists() and "first" in log.read_text())
    assert "second-out" not in log.read_text()
    (ws.root / "go").touch()
    wait_for(lambda: ops.get_run(ws, run_id)["status"] == "succeeded")
    assert "second-out" in log.read_text()


def test_fast_idempotent_steps_logs_are_on_disk_when_the_run_returns(make_ws):
    # Their logs are written by the run's mirror writer; the run flushes it before it returns.
    steps = "".join(f'[[workflow.step]]\ntype = "command"\nidempotent = true\nrun = "echo out-{i}; echo err-{i} >&2"\n'
                    for i in range(1, 6))
    ws = make_ws(f'[[workflow]]\nname = "w"\n{steps}')
    result = ops.run_workflow(ws, "w", strict=True)
    assert result.success, result.failure_message()
    for i in range(1, 6):
        text = (ws.tutti_dir / "logs" / "runs" / result.run_id / f"{i:03d}-command.log").read_text()
        assert f"out-{i}\n" in text and f"err-{i}\n" in text
        assert "attempt 1/" in text and "exit 0" in text


def test_agent_worktree_cwd_and_subdir(make_ws, git_repo):
    from tests.conftest import git

    git(git_repo, "worktree", "add", "-q", "-b", "tutti/dev", str(git_repo / ".tutti" / "worktrees" / "dev"))
    (git_repo / ".tutti" / "worktrees" / "dev" / "pkg").mkdir()
    ws = make_ws(textwrap.dedent("""
        [[agent]]
        name = "dev"
        runtime = "claude-code"
        [[workflow]]
        name = "w"
        [[workflow.step]]
        type = "command"
        cwd = "agent_worktree"
        agent = "dev"
        subdir = "pkg"
        run = "pwd > here.txt; git rev-parse --abbrev-ref HEAD >> here.txt; echo $TUTTI_AGENT >> here.txt"
    """))
    result = ops.run_workflow(ws, "w", strict=True)
    assert result.success, result.failure_message()
    lines = (git_repo / ".tutti" / "worktrees" / "dev" / "pkg" / "here.txt").read_text().split()
    assert lines == [str(ws.root / ".tutti" / "worktrees" / "dev" / "pkg"), "tutti/dev", "dev"]


def test_environment_carries_workspace_env_and_run_facts(make_ws):
    ws = make_ws(textwrap.dedent("""
        [workspace.env]
        MY_FLAG = "on"
        [[workflow]]
        name = "w"
        [[workflow.step]]
        type = "command"
        id = "env"
        run = "echo $MY_FLAG $TUTTI_WORKSPACE $TUTTI_RUN_ID $TUTTI_STEP > env.txt"
    """))
    result = ops.run_workflow(ws, "w")
    assert (ws.root / "env.txt").read_text().split() == ["on", "demo", result.run_id, "001-env"]


def test_each_step_and_each_run_gets_its_own_facts(make_ws, monkeypatch):
    # The environment is built once per run and copied per step: a wave's concurrent steps each
    # see their own TUTTI_STEP, and the next run sees its own run id and tt's environment as it
    # is then.
    steps = "".join(f'[[workflow.step]]\ntype = "command"\nid = "s{i}"\nidempotent = true\n'
                    f'run = "echo $TUTTI_STEP $TUTTI_RUN_ID $P2_PROBE > out-{i}.txt"\n' for i in range(1, 5))
    ws = make_ws(f'[[workflow]]\nname = "w"\n{steps}')
    seen = []
    for probe in ("one", "two"):
        monkeypatch.setenv("P2_PROBE", probe)
        result = ops.run_workflow(ws, "w", strict=True)
        assert result.success, result.failure_message()
        lines = [(ws.root / f"out-{i}.txt").read_text().split() for i in range(1, 5)]
        assert lines == [[f"00{i}-s{i}", result.run_id, probe] for i in range(1, 5)]
        seen.append(result.run_id)
    assert seen[0] != seen[1]


def test_permissions_policy_blocks_unlisted_commands(make_ws, tutti_home):
    pytest.importorskip("tutti.policy.permissions")
    (tutti_home / "config.toml").write_text('[permissions]\nallow = ["echo"]\n')
    ws = make_ws(textwrap.dedent("""
        [[workflow]]
        name = "w"
        [[workflow.step]]
        type = "command"
        run = "echo allowed"
        [[workflow.step]]
        type = "command"
        run = "touch blocked-file"
        fail_mode = "closed"
    """))
    result = ops.run_workflow(ws, "w")
    assert result.failed_steps == [2]
    assert result.steps[1]["message"].startswith("command blocked by permissions policy: 'touch blocked-file'")
    assert not (ws.root / "blocked-file").exists()
    decisions = [json.loads(x) for x in (ws.state_dir / "policy-decisions.jsonl").read_text().splitlines()]
    assert [d["decision"] for d in decisions] == ["allow", "block"]
    assert decisions[1]["action"] == "workflow_command" and decisions[1]["data"]["run_id"] == result.run_id
    kinds = [e.kind for e in ws.store.read_events(run_id=result.run_id)]
    assert kinds.count("policy.decision") == 2
