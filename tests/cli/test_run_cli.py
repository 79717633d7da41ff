"""`tt run`, `tt runs`: arguments, listing, dry-run JSON, results, exit codes."""

from __future__ import annotations

import json
import textwrap

import pytest

CONFIG = textwrap.dedent("""
    [workspace]
    name = "demo"

    [[agent]]
    name = "dev"
    runtime = "claude-code"
    worktree = false

    [[workflow]]
    name = "build"
    description = "Build it"
    [[workflow.step]]
    id = "gen"
    type = "command"
    run = "echo '{\\"v\\": 1}' > gen.json"
    output_json = "gen.json"
    [[workflow.step]]
    type = "command"
    run = "cat {{output.gen.path}}"
    fail_mode = "closed"

    [[workflow]]
    name = "broken"
    [[workflow.step]]
    id = "boom"
    type = "command"
    run = "exit 7"
    fail_mode = "closed"
""")


@pytest.fixture
def repo(git_repo):
    (git_repo / "tutti.toml").write_text(CONFIG)
    return git_repo


def test_run_list_table_and_json(tt, repo):
    res = tt("run", "--list", cwd=repo)
    assert res.returncode == 0
    assert res.stdout.splitlines()[0].split() == ["Workflow", "Steps", "Description"]
    data = json.loads(tt("run", "--list", "--json", cwd=repo).stdout)
    assert data == [{"name": "build", "description": "Build it", "steps": 2},
                    {"name": "broken", "description": None, "steps": 1}]


def test_run_list_without_workflows(tt, git_repo):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "empty"\n')
    assert tt("run", "--list", cwd=git_repo).stdout.strip() == "No workflows configured."
    assert json.loads(tt("run", "--list", "--json", cwd=git_repo).stdout) == []


@pytest.mark.parametrize("args, message", [
    ((), "workflow name is required unless --list or --resume is set"),
    (("--list", "build"), "--list cannot be combined"),
    (("--list", "--strict"), "--list cannot be combined"),
    (("--resume", "123-4", "build"), "--resume cannot be combined with a WORKFLOW name or --dry-run"),
    (("--resume", "123-4", "--dry-run"), "--resume cannot be combined"),
])
def test_run_argument_conflicts_exit_2(tt, repo, args, message):
    res = tt("run", *args, cwd=repo)
    assert res.returncode == 2
    assert res.stderr.startswith(f"error[usage]: {message}")
    assert "Traceback" not in res.stderr


def test_dry_run_json_has_literal_commands_and_resolved_cwd(tt, repo):
    res = tt("run", "build", "--dry-run", "--json", cwd=repo)
    assert res.returncode == 0, res.stderr
    plan = json.loads(res.stdout)
    assert plan["workflow"] == "build" and plan["strict"] is False and plan["waves"] == [[1], [2]]
    step = plan["steps"][1]
    assert step["type"] == "command" and step["command"] == "cat {{output.gen.path}}"  # not rendered
    assert step["cwd"] == str(repo.resolve()) and step["fail_mode"] == "closed" and step["index"] == 2
    strict = json.loads(tt("run", "build", "--dry-run", "--json", "--strict", cwd=repo).stdout)
    assert [s["fail_mode"] for s in strict["steps"]] == ["closed", "closed"]
    assert not (repo / "gen.json").exists()  # nothing ran


def test_unknown_workflow_and_agent_are_clear_errors(tt, repo):
    res = tt("run", "nope", cwd=repo)
    assert res.returncode == 1 and res.stderr.startswith("error[not_found]: workflow 'nope' not found")
    res = tt("run", "build", "--agent", "ghost", cwd=repo)
    assert res.returncode == 1 and res.stderr.startswith("error[not_found]: unknown agent 'ghost'")


def test_run_json_result_and_failure_exit_code(tt, repo):
    ok = tt("run", "build", "--json", cwd=repo)
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["success"] is True and data["status"] == "succeeded" and len(data["steps"]) == 2
    bad = tt("run", "broken", "--json", cwd=repo)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["failed_steps"] == [1]
    assert "error[workflow]: workflow 'broken' failed (failed steps: [1]): step 1 'boom': command failed (exit 7)" \
        in bad.stderr


def test_runs_list_and_show_read_the_store(tt, repo):
    tt("run", "build", cwd=repo)
    tt("run", "broken", cwd=repo)
    runs = json.loads(tt("runs", "list", "--json", cwd=repo).stdout)
    assert [r["workflow"] for r in runs] == ["broken", "build"]
    assert [r["status"] for r in runs] == ["failed", "succeeded"]
    assert runs[1]["steps_done"] == 2 and runs[1]["steps_total"] == 2
    limited = json.loads(tt("runs", "list", "--json", "--limit", "1", cwd=repo).stdout)
    assert len(limited) == 1
    failed_id = runs[0]["run_id"]
    show = tt("runs", "show", failed_id, cwd=repo)
    assert show.returncode == 0
    assert f"Next action: tt run --resume {failed_id}" in show.stdout
    assert "command failed (exit 7): exit 7" in show.stdout
    detail = json.loads(tt("runs", "show", failed_id, "--json", cwd=repo).stdout)
    assert detail["steps"][0]["status"] == "failed" and detail["cost_usd"] == 0
    missing = tt("runs", "show", "nope-1", cwd=repo)
    assert missing.returncode == 1 and "run 'nope-1' not found" in missing.stderr


def test_runs_list_empty(tt, repo):
    assert tt("runs", "list", cwd=repo).stdout.strip() == "No tracked runs."


def test_resume_unknown_run_is_not_found_not_a_usage_error(tt, repo):
    res = tt("run", "--resume", "1234-5", cwd=repo)
    assert res.returncode == 1
    assert res.stderr.startswith("error[not_found]: run '1234-5' not found")


def test_invalid_config_exits_2_without_traceback(tt, git_repo):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "x"\n[[workflow]]\nname = "w"\n[[workflow.step]]\n'
                                         'type = "command"\n')
    res = tt("run", "w", cwd=git_repo)
    assert res.returncode == 2
    assert res.stderr.startswith("error[config]:") and "Traceback" not in res.stderr


def test_sigterm_cancels_the_run_and_kills_its_commands(git_repo):
    import signal
    import subprocess
    import sys
    import time

    (git_repo / "tutti.toml").write_text('[workspace]\nname = "t"\n[[workflow]]\nname = "long"\n'
                                         '[[workflow.step]]\ntype = "command"\nrun = "sleep 120 & echo $! > child.pid; wait"\n')
    proc = subprocess.Popen([sys.executable, "-m", "tutti", "run", "long"], cwd=git_repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pid_file = git_repo / "child.pid"
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert time.monotonic() < deadline, "step never started"
        time.sleep(0.05)
    child = int(pid_file.read_text())
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "cancelling run (SIGTERM)" in err and "workflow 'long' was cancelled" in err
    from tutti.ops.run import list_runs
    from tutti.workspace import load_workspace_at

    assert list_runs(load_workspace_at(git_repo))[0]["status"] == "cancelled"
    from tests.workflows.helpers import alive

    deadline = time.monotonic() + 10
    while alive(child):
        assert time.monotonic() < deadline, "the step's child survived the cancel"
        time.sleep(0.05)


def test_runs_cancel_stops_a_run_in_another_process(tt, git_repo):
    import subprocess
    import sys
    import time

    (git_repo / "tutti.toml").write_text('[workspace]\nname = "t"\n[[workflow]]\nname = "long"\n'
                                         '[[workflow.step]]\ntype = "command"\nrun = "touch started; sleep 120"\n')
    proc = subprocess.Popen([sys.executable, "-m", "tutti", "run", "long"], cwd=git_repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (git_repo / "started").exists():
            assert time.monotonic() < deadline, "step never started"
            time.sleep(0.05)
        run_id = json.loads(tt("runs", "list", "--json", cwd=git_repo).stdout)[0]["run_id"]
        res = tt("runs", "cancel", run_id, cwd=git_repo)
        assert res.returncode == 0 and f"cancel requested for run {run_id}" in res.stdout
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 1 and "was cancelled" in err
        assert json.loads(tt("runs", "show", run_id, "--json", cwd=git_repo).stdout)["status"] == "cancelled"
        again = tt("runs", "cancel", run_id, cwd=git_repo)
        assert "is not running; nothing to cancel" in again.stdout
    finally:
        proc.kill()
        proc.wait()


def test_concurrent_runs_in_one_workspace_share_the_store_safely(git_repo):
    import subprocess
    import sys

    steps = "".join('[[workflow.step]]\ntype = "command"\nrun = "true"\nfail_mode = "closed"\n' for _ in range(15))
    (git_repo / "tutti.toml").write_text(f'[workspace]\nname = "t"\n[[workflow]]\nname = "many"\n{steps}')
    procs = [subprocess.Popen([sys.executable, "-m", "tutti", "run", "many", "--json"], cwd=git_repo,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [o[1] for o in outs]
    run_ids = {json.loads(o[0])["run_id"] for o in outs}
    assert len(run_ids) == 3
    from tutti.workspace import load_workspace_at

    ws = load_workspace_at(git_repo)
    for run_id in run_ids:
        events = ws.store.read_events(run_id=run_id, limit=10000)
        assert [e.kind for e in events].count("workflow.step.completed") == 15
        assert [e.seq for e in events] == sorted(e.seq for e in events)
        rows = ws.store.query("SELECT status FROM steps WHERE run_id = ?", (run_id,))
        assert [r["status"] for r in rows] == ["success"] * 15
