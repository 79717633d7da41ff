"""Port of the original's workflow-engine tests — `src/automation/mod.rs` (@ e7be73f) — through
`tt run` / `tt run --resume` / `tt run --dry-run` on real git repos, reading the files the original
documents under `.tutti/state/` (ours also keeps every step in the SQLite store)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import git

from .conftest import jsonl

HEAD = """\
[workspace]
name = "ws"

[defaults]
worktree = true
runtime = "claude-code"

[[agent]]
name = "backend"
"""


def cmd(run: str, *, fail_mode: str = "open", extra: str = "") -> str:
    return f'\n[[workflow.step]]\ntype = "command"\nrun = {json.dumps(run)}\nfail_mode = "{fail_mode}"\n{extra}'


def workflow(name: str, *steps: str) -> str:
    return f'\n[[workflow]]\nname = "{name}"\n' + "".join(steps)


def run(tt, root: Path, *args: str):
    res = tt("run", *args, "--json", cwd=root)
    data = json.loads(res.stdout) if res.stdout.strip().startswith("{") else None
    return res, data


def test_command_fail_open_continues(ws, tt):
    """upstream: src/automation/mod.rs::tests::command_fail_open_continues"""
    root = ws(HEAD + workflow("verify", cmd("echo one"), cmd("exit 7"), cmd("echo three")))
    res, d = run(tt, root, "verify")
    assert res.returncode == 0, res.stderr
    assert d["success"] is True and d["warning_count"] == 1 and len(d["steps"]) == 3


def test_command_fail_closed_aborts(ws, tt):
    """upstream: src/automation/mod.rs::tests::command_fail_closed_aborts — the third step never
    runs (ours lists it as `not_run` instead of leaving it out)."""
    root = ws(HEAD + workflow("verify", cmd("echo one", fail_mode="closed"), cmd("exit 9", fail_mode="closed"),
                              cmd("touch never", fail_mode="closed")))
    res, d = run(tt, root, "verify")
    assert res.returncode != 0
    assert d["success"] is False and d["failed_steps"] == [2]
    assert [s["status"] for s in d["steps"]][:2] == ["success", "failed"]
    assert not (root / "never").exists()


def test_strict_mode_forces_closed(ws, tt):
    """upstream: src/automation/mod.rs::tests::strict_mode_forces_closed (origin verify)"""
    root = ws(HEAD + workflow("verify", cmd("exit 4", fail_mode="open")))
    res = tt("verify", "--strict", "--json", cwd=root)
    d = json.loads(res.stdout)
    assert res.returncode != 0
    assert d["success"] is False and d["failed_steps"] == [1]


def test_command_agent_worktree_cwd_resolves_to_agent_worktree_path(ws, tt):
    """upstream: src/automation/mod.rs::tests::command_agent_worktree_cwd_resolves_to_agent_worktree_path"""
    root = ws(HEAD + workflow("verify", cmd("pwd > where.txt", fail_mode="closed",
                                            extra='cwd = "agent_worktree"\nagent = "backend"\n')))
    wt = root / ".tutti" / "worktrees" / "backend"
    git(root, "worktree", "add", "-q", "-b", "tutti/backend", str(wt))
    res, d = run(tt, root, "verify")
    assert res.returncode == 0, res.stderr
    assert Path((wt / "where.txt").read_text().strip()).resolve() == wt.resolve()


def test_command_agent_worktree_cwd_requires_existing_worktree(ws, tt):
    """upstream: src/automation/mod.rs::tests::command_agent_worktree_cwd_requires_existing_worktree"""
    root = ws(HEAD + workflow("verify", cmd("git status --short", fail_mode="closed",
                                            extra='cwd = "agent_worktree"\nagent = "backend"\n')))
    res, _ = run(tt, root, "verify")
    assert res.returncode != 0
    assert "agent worktree not found for 'backend'" in res.stdout + res.stderr


def test_command_policy_block_closed_fails_step(ws, tt, global_config):
    """upstream: src/automation/mod.rs::tests::command_policy_block_closed_fails_step"""
    global_config('[permissions]\nallow = ["git status"]\n')
    root = ws(HEAD + workflow("verify", cmd("echo blocked", fail_mode="closed", extra='agent = "backend"\n')))
    res, d = run(tt, root, "verify")
    assert res.returncode != 0
    assert d["failed_steps"] == [1]
    message = d["steps"][0]["message"]
    assert "blocked by permissions policy" in message
    assert "add allow rule" in message
    decisions = jsonl(root / ".tutti" / "state" / "policy-decisions.jsonl")
    assert any(r.get("action") == "workflow_command" and r.get("decision") == "block" and r.get("agent") == "backend"
               for r in decisions), decisions


def test_command_policy_block_open_warns_and_continues(ws, tt, global_config):
    """upstream: src/automation/mod.rs::tests::command_policy_block_open_warns_and_continues"""
    global_config('[permissions]\nallow = ["git status"]\n')
    root = ws(HEAD + workflow("verify", cmd("echo blocked", extra='agent = "backend"\n'),
                              cmd("echo ok", extra='agent = "backend"\n')))
    res, d = run(tt, root, "verify")
    assert res.returncode == 0, res.stderr
    assert d["success"] is True and d["warning_count"] == 2 and len(d["steps"]) == 2
    decisions = jsonl(root / ".tutti" / "state" / "policy-decisions.jsonl")
    assert sum(1 for r in decisions if r.get("action") == "workflow_command" and r.get("decision") == "block") == 2


def test_execute_with_hooks_emits_started_and_completed_with_same_correlation(ws, tt):
    """upstream: src/automation/mod.rs::tests::execute_with_hooks_emits_started_and_completed_with_same_correlation
    — in the original's `.tutti/state/events.jsonl` (ours also has them in the store)."""
    root = ws(HEAD + workflow("verify", cmd("echo ok", fail_mode="closed")))
    _, d = run(tt, root, "verify")
    events = jsonl(root / ".tutti" / "state" / "events.jsonl")
    started = next(e for e in events if e["event"] == "workflow.started")
    completed = next(e for e in events if e["event"] == "workflow.completed")
    assert started["correlation_id"] == completed["correlation_id"] == d["run_id"]


def test_hook_dispatch_filters_by_agent(ws):
    """upstream: src/automation/mod.rs::tests::hook_dispatch_filters_by_agent — an agent_stop hook
    scoped to `backend` does not fire when `frontend` stops."""
    from tutti.workflows.engine import fire_agent_stop
    from tutti.workspace import load_workspace_at

    root = ws(HEAD + '[[agent]]\nname = "frontend"\n' + workflow("verify", cmd("touch hook-ran")) +
              '\n[[hook]]\nevent = "agent_stop"\nagent = "backend"\nworkflow = "verify"\nfail_mode = "open"\n')
    assert fire_agent_stop(load_workspace_at(root), "frontend") == []
    assert not (root / "hook-ran").exists()
    assert len(fire_agent_stop(load_workspace_at(root), "backend")) == 1
    assert (root / "hook-ran").exists()


def test_workflow_complete_hook_filters_by_source(ws, tt):
    """upstream: src/automation/mod.rs::tests::workflow_complete_hook_filters_by_source"""
    root = ws(HEAD + workflow("verify", cmd("echo ok")) +
              '\n[[hook]]\nevent = "workflow_complete"\nworkflow_source = "run"\nworkflow_name = "verify"\n'
              'run = "touch from-run"\n'
              '\n[[hook]]\nevent = "workflow_complete"\nworkflow_source = "observe_cycle"\nworkflow_name = "verify"\n'
              'run = "touch from-observe"\n')
    res, _ = run(tt, root, "verify")
    assert res.returncode == 0, res.stderr
    assert (root / "from-run").exists()
    assert not (root / "from-observe").exists()


def test_render_template_replaces_known_outputs_and_rejects_unresolved(ws, tt):
    """upstream: src/automation/mod.rs::tests::render_template_replaces_known_outputs_and_rejects_unresolved,
    src/automation/mod.rs::tests::render_template_with_artifact_output"""
    root = ws(HEAD + workflow(
        "verify",
        cmd("""printf '{"issues": 2}' > scan.json""", fail_mode="closed", extra='id = "scan"\noutput_json = "scan.json"\n'),
        cmd("echo {{output.scan.path}} {{output.scan.json}} > rendered.txt", fail_mode="closed"))
        + workflow("broken", cmd("echo {{output.missing.path}}", fail_mode="closed")))
    res, _ = run(tt, root, "verify")
    assert res.returncode == 0, res.stderr
    rendered = (root / "rendered.txt").read_text()
    path = rendered.split()[0]  # {{output.scan.path}}: the run's stored copy of the step's output
    assert "/workflow-outputs/" in path and path.endswith("scan.json") and Path(path).is_file()
    assert '{"issues":2}' in rendered.replace(" ", "")
    res, d = run(tt, root, "broken")
    assert res.returncode != 0
    assert "output.missing" in res.stdout + res.stderr


def test_retry_policy_requires_more_than_one_attempt(ws, tt, global_config):
    """upstream: src/automation/mod.rs::tests::retry_policy_requires_more_than_one_attempt"""
    global_config("[resilience]\nretry_max_attempts = 1\nretry_initial_backoff_ms = 1\n")
    root = ws(HEAD + workflow("verify", cmd("echo x >> tries; exit 1", fail_mode="closed")))
    res, d = run(tt, root, "verify")
    assert res.returncode != 0
    assert (root / "tries").read_text().count("x") == 1


def test_run_shell_command_with_retry_retries_until_success(ws, tt, global_config):
    """upstream: src/automation/mod.rs::tests::run_shell_command_with_retry_retries_until_success"""
    global_config("[resilience]\nretry_max_attempts = 3\nretry_initial_backoff_ms = 1\nretry_max_backoff_ms = 5\n")
    script = ('n=$(cat .retry-count 2>/dev/null || echo 0); n=$((n+1)); echo "$n" > .retry-count; '
              'if [ "$n" -lt 2 ]; then exit 1; fi')
    root = ws(HEAD + workflow("verify", cmd(script, fail_mode="closed")))
    res, d = run(tt, root, "verify")
    assert res.returncode == 0, res.stderr
    assert d["steps"][0]["attempts"] == 2 and d["steps"][0]["exit_code"] == 0


def resumable(ws, tt):
    root = ws(HEAD + workflow("verify", cmd("echo x >> count1", fail_mode="closed"),
                              cmd("test -f go || exit 3", fail_mode="closed"), cmd("echo done", fail_mode="closed")))
    _, first = run(tt, root, "verify")
    assert first["failed_steps"] == [2]
    return root, first["run_id"]


def test_load_resume_context_filters_failed_steps(ws, tt):
    """upstream: src/automation/mod.rs::tests::load_resume_context_filters_failed_steps — on
    `--resume` the completed step is skipped and the failed one runs again."""
    root, run_id = resumable(ws, tt)
    (root / "go").touch()
    res, d = run(tt, root, "--resume", run_id)
    assert res.returncode == 0, res.stderr
    assert d["run_id"] == run_id and d["success"] is True
    assert (root / "count1").read_text().count("x") == 1


def test_load_resume_context_rejects_completed_run(ws, tt):
    """upstream: src/automation/mod.rs::tests::load_resume_context_rejects_completed_run"""
    root = ws(HEAD + workflow("verify", cmd("echo ok")))
    _, d = run(tt, root, "verify")
    res, _ = run(tt, root, "--resume", d["run_id"])
    assert res.returncode != 0
    assert "already succeeded" in res.stderr


def test_execute_persists_step_intent_and_outcome(ws, tt):
    """upstream: src/automation/mod.rs::tests::execute_persists_step_intent_and_outcome"""
    root = ws(HEAD + workflow("verify", cmd("echo ok", fail_mode="closed")))
    _, d = run(tt, root, "verify")
    intent = json.loads((root / ".tutti/state/workflow-intents" / d["run_id"] / "001-command.json").read_text())
    assert intent["step_type"] == "command" and intent["outcome"]["success"] is True


def test_record_step_intent_preserves_original_planned_at(ws, tt):
    """upstream: src/automation/mod.rs::tests::record_step_intent_preserves_original_planned_at"""
    root, run_id = resumable(ws, tt)
    path = root / ".tutti/state/workflow-intents" / run_id / "002-command.json"
    first = json.loads(path.read_text())
    (root / "go").touch()
    run(tt, root, "--resume", run_id)
    second = json.loads(path.read_text())
    assert second["planned_at"] == first["planned_at"]
    assert second["attempt"] == first["attempt"] + 1


def test_execute_control_step_reports_intent_write_failure_as_failed_result(ws, tt):
    """upstream: src/automation/mod.rs::tests::execute_control_step_reports_intent_write_failure_as_failed_result
    — `.tutti` is a file: the run fails with one clear error line, never a traceback (ours fails
    before any step because the run itself cannot be recorded)."""
    root = ws(HEAD + workflow("autofix", '\n[[workflow.step]]\ntype = "ensure_running"\nagent = "backend"\n'))
    (root / ".tutti").write_text("not-a-dir\n")
    res, _ = run(tt, root, "autofix")
    assert res.returncode != 0
    assert "error[" in res.stderr and "Traceback" not in res.stderr


def test_resume_skips_land_whose_branch_is_already_merged(ws, tt):
    """upstream: src/automation/mod.rs::tests::build_resume_compensator_plan_detects_already_merged_land_branch
    — the land failed (dirty root), the branch was then merged by hand; `--resume` must not land it
    again (ours: the compensator preflight marks the step skipped)."""
    root = ws(HEAD + workflow("autoland", '\n[[workflow.step]]\ntype = "land"\nagent = "backend"\n'))
    wt = root / ".tutti" / "worktrees" / "backend"
    git(root, "worktree", "add", "-q", "-b", "tutti/backend", str(wt))
    (wt / "feature.txt").write_text("hello\n")
    git(wt, "add", "feature.txt")
    git(wt, "commit", "-q", "-m", "feature")
    (root / "dirty.txt").write_text("x")
    git(root, "add", "dirty.txt")  # a staged change: `tt land` refuses a dirty tree
    res, d = run(tt, root, "autoland")
    assert res.returncode != 0 and d["failed_steps"] == [1], res.stderr
    git(root, "commit", "-q", "-m", "dirty")
    git(root, "merge", "-q", "--no-ff", "-m", "merge backend", "tutti/backend")
    before = git(root, "rev-parse", "HEAD")
    res, d = run(tt, root, "--resume", d["run_id"])
    assert res.returncode == 0, res.stderr
    assert git(root, "rev-parse", "HEAD") == before  # nothing landed twice
    assert d["steps"][0]["status"] in ("skipped", "success")


def test_resolver_applies_command_subdir(ws, tt):
    """upstream: src/automation/mod.rs::tests::resolver_applies_command_subdir"""
    root = ws(HEAD + workflow("verify", cmd("pwd > where.txt", fail_mode="closed", extra='subdir = "backend"\n')))
    (root / "backend").mkdir()
    res, _ = run(tt, root, "verify")
    assert res.returncode == 0, res.stderr
    assert Path((root / "backend" / "where.txt").read_text().strip()).resolve() == (root / "backend").resolve()


CONTROL = HEAD + '[[agent]]\nname = "reviewer"\n' + workflow("verify", cmd("echo ok")) + """
[[workflow]]
name = "autofix"

[[workflow.step]]
type = "ensure_running"
agent = "backend"

[[workflow.step]]
type = "workflow"
workflow = "verify"
agent = "backend"
strict = true
fail_mode = "closed"

[[workflow.step]]
type = "review"
agent = "backend"
reviewer = "reviewer"
fail_mode = "open"
depends_on = [1]

[[workflow.step]]
type = "land"
agent = "backend"
force = true
"""


def test_resolver_supports_control_steps(ws, tt):
    """upstream: src/automation/mod.rs::tests::resolver_supports_control_steps,
    src/automation/mod.rs::tests::build_normalized_dependencies_defaults_to_previous_when_explicit_mode_enabled
    — the dry-run plan lists the four control steps; with explicit depends_on in the workflow, a
    step without it depends on the previous step."""
    root = ws(CONTROL)
    res = tt("run", "autofix", "--dry-run", "--json", cwd=root)
    assert res.returncode == 0, res.stderr
    plan = json.loads(res.stdout)
    steps = plan["steps"]
    assert [s["step_type"] if "step_type" in s else s["type"] for s in steps] == [
        "ensure_running", "workflow", "review", "land"]
    deps = [s.get("depends_on") for s in steps]
    assert deps[2] == [1] and deps[3] == [3], deps


def test_expand_artifact_glob_replaces_workspace_and_agent(tmp_path):
    """upstream: src/automation/mod.rs::tests::expand_artifact_glob_replaces_workspace_and_agent —
    `{workspace}` is the workspace *name* (as in the original), `{agent}` the agent."""
    from tutti.workflows.artifacts import expand_glob

    assert expand_glob("/tmp/{workspace}/{agent}/*.md", workspace_root=tmp_path, workspace_name="my-project",
                       agent="planner") == "/tmp/my-project/planner/*.md"


def test_expand_artifact_glob_expands_tilde(tmp_path):
    """upstream: src/automation/mod.rs::tests::expand_artifact_glob_expands_tilde"""
    from tutti.workflows.artifacts import expand_glob

    out = expand_glob("~/.gstack/test/*.md", workspace_root=tmp_path, workspace_name="ws", agent="ag")
    assert out.startswith(os.path.expanduser("~")) and out.endswith("/.gstack/test/*.md")


def test_artifact_snapshot_and_capture(tmp_path):
    """upstream: src/automation/mod.rs::tests::snapshot_artifact_glob_captures_existing_files,
    src/automation/mod.rs::tests::capture_artifact_picks_newest_new_file,
    src/automation/mod.rs::tests::capture_artifact_zero_new_files_fails,
    src/automation/mod.rs::tests::capture_artifact_multiple_new_files_picks_newest — the engine's
    artifact-polling primitives (end to end in tests/workflows/agents/test_prompt_step.py)."""
    from tutti.workflows.artifacts import new_files, snapshot

    pattern = f"{tmp_path}/*.md"
    (tmp_path / "design-001.md").write_text("doc1")
    (tmp_path / "design-002.md").write_text("doc2")
    before = snapshot(pattern)
    assert len(before) == 2
    assert new_files(pattern, before) == []  # zero new files: nothing captured
    a, b = tmp_path / "design-a.md", tmp_path / "design-b.md"
    a.write_text("first")
    b.write_text("second (newest)")
    os.utime(a, (1_000_000, 1_000_000))
    found = new_files(pattern, before)
    assert set(found) == {a, b}
    assert max(found, key=lambda p: p.stat().st_mtime) == b

