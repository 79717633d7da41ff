"""Issue #11: `tt run` as a new user meets it — defaults stated, the unsafe obvious workflow warned
about, `--agent` re-targeting and `--dry-run --json` exactly as the original, each step shown once,
and a run with warnings never reported as a plain success."""

from __future__ import annotations

import json

LONG = "Implement the feature described in docs/plan.md, keep the public API unchanged, add tests " \
       "for every new branch, and commit when the suite is green.\nSecond line of the prompt."

PIPELINE = f"""
[workspace]
name = "fh"

[defaults]
worktree = false

[[agent]]
name = "dev"
runtime = "fake"

[[agent]]
name = "ops"
runtime = "fake"

[[workflow]]
name = "ship"

[[workflow.step]]
type = "prompt"
agent = "dev"
text = {json.dumps(LONG)}

[[workflow.step]]
id = "check"
type = "command"
agent = "dev"
run = "true"

[[workflow.step]]
type = "land"
agent = "dev"

[[workflow]]
name = "warned"

[[workflow.step]]
id = "fine"
type = "command"
run = "true"

[[workflow.step]]
id = "flaky"
type = "command"
run = "echo the-reason; exit 3"
"""


def _repo(git_repo):
    (git_repo / "tutti.toml").write_text(PIPELINE)
    return git_repo


def test_a_step_after_a_non_waiting_prompt_step_is_warned_about(tt, git_repo):
    res = tt("run", "ship", "--dry-run", cwd=_repo(git_repo))
    assert res.returncode == 0, res.stderr
    assert "workflow 'ship' → step 2 (command) depends on prompt step 1, which does not wait" in res.stderr
    assert "set wait_for_idle = true on step 1" in res.stderr
    # the land step depends on the command step, not on the prompt: one warning only
    assert res.stderr.count("does not wait for the agent") == 1


def test_waiting_prompt_step_is_not_warned_about(tt, git_repo):
    (git_repo / "tutti.toml").write_text(PIPELINE.replace('agent = "dev"\ntext', 'agent = "dev"\nwait_for_idle = true\ntext', 1))
    res = tt("run", "ship", "--dry-run", cwd=git_repo)
    assert res.returncode == 0 and "does not wait" not in res.stderr


def test_dry_run_states_every_default_in_effect(tt, git_repo):
    res = tt("run", "ship", "--dry-run", cwd=_repo(git_repo))
    out = res.stdout
    assert "Defaults in effect" in out
    assert "step 1 (prompt): wait_for_idle = false" in out
    assert 'step 2 (command): fail_mode = "open"' in out and "step 2 (command): timeout_secs = 900" in out
    assert 'step 3 (land): fail_mode = "closed"' in out
    plan = json.loads(tt("run", "ship", "--dry-run", "--json", cwd=git_repo).stdout)
    assert plan["steps"][0]["defaults"]["wait_for_idle"] is False
    assert plan["steps"][0]["wait_for_idle"] is False and plan["steps"][0]["wait_timeout_secs"] == 900
    assert "agent" not in plan["steps"][1]["defaults"]  # set explicitly, so not a default
    strict = tt("run", "ship", "--dry-run", "--strict", cwd=git_repo).stdout
    assert 'step 2 (command): fail_mode = "open" — overridden for this run: closed' in strict


def test_dry_run_json_summary_carries_the_full_text(tt, git_repo):
    plan = json.loads(tt("run", "ship", "--dry-run", "--json", cwd=_repo(git_repo)).stdout)
    assert plan["steps"][0]["summary"] == LONG
    assert plan["steps"][1]["summary"] == "true"
    table = tt("run", "ship", "--dry-run", cwd=git_repo).stdout
    assert LONG not in table and "..." in table  # the table row is still cut to fit


def test_agent_override_retargets_command_steps_with_their_own_agent(tt, git_repo):
    plan = json.loads(tt("run", "ship", "--dry-run", "--json", "--agent", "ops", cwd=_repo(git_repo)).stdout)
    assert [s["agent"] for s in plan["steps"]] == ["ops", "ops", "ops"]


def test_run_prints_each_step_once_and_warnings_are_not_plain_success(tt, git_repo):
    res = tt("run", "warned", cwd=_repo(git_repo))
    assert res.returncode == 0, res.stdout + res.stderr
    both = res.stdout + res.stderr
    assert both.count("flaky") == 1 and both.count("fine") == 1, both  # the table row, nothing else
    assert "Result: success with 1 warning(s)" in res.stdout
    listed = tt("runs", "list", cwd=git_repo).stdout
    assert "succeeded (1 warning)" in listed
    row = json.loads(tt("runs", "list", "--json", cwd=git_repo).stdout)[0]
    assert row["status"] == "succeeded" and row["warning_count"] == 1
    assert row["outcome"] == "succeeded_with_warnings"


def test_verify_last_sees_tt_run_verify(tt, git_repo):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "v"\n[[workflow]]\nname = "verify"\n'
                                         '[[workflow.step]]\nid = "t"\ntype = "command"\nrun = "true"\nfail_mode = "closed"\n')
    assert tt("verify", "--last", "--json", cwd=git_repo).stdout.strip().startswith('{\n  "found": false')
    ran = json.loads(tt("run", "verify", "--json", cwd=git_repo).stdout)
    last = json.loads(tt("verify", "--last", "--json", cwd=git_repo).stdout)
    assert last["found"] and last["summary"]["run_id"] == ran["run_id"] and last["summary"]["success"]
    again = json.loads(tt("verify", "--json", cwd=git_repo).stdout)
    assert json.loads(tt("verify", "--last", "--json", cwd=git_repo).stdout)["summary"]["run_id"] == again["run_id"]


def test_a_step_that_never_ran_has_one_name_everywhere(tt, git_repo):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "n"\n[[workflow]]\nname = "w"\n'
                                         '[[workflow.step]]\nid = "a"\ntype = "command"\nrun = "false"\nfail_mode = "closed"\n'
                                         '[[workflow.step]]\nid = "b"\ntype = "command"\nrun = "true"\n')
    result = json.loads(tt("run", "w", "--json", cwd=git_repo).stdout)
    shown = json.loads(tt("runs", "show", result["run_id"], "--json", cwd=git_repo).stdout)
    assert result["steps"][1]["status"] == shown["steps"][1]["status"] == "not_run"
