"""Acceptance: multi-agent pipelines from `tt run`, with real tmux, real git and the fake agent.

planner writes a plan artifact → implementer gets it injected and commits code → a command
step runs the tests in the implementer's worktree → reviewer writes a verdict → land onto main
through the local gate.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.conftest import git

pytestmark = pytest.mark.slow

CALC = "def add(a, b):\n    return a + b\n"
TEST_CALC = "from calc import add\nassert add(2, 3) == 5\nprint('calc ok')\n"


def verdict_rule(verdict: str, findings: list[dict] | None = None) -> dict:
    content = json.dumps({"verdict": verdict, "summary": f"reviewer says {verdict}", "findings": findings or []})
    return {"match": r"verdict as JSON to (\S+) with", "reply": "Verdict written.",
            "write": [{"path": "{1}", "content": content}]}


def agents(verdict: str = "approve", findings: list[dict] | None = None) -> dict[str, dict]:
    return {
        "planner": {"rule": [{"match": "Write a plan", "reply": "Plan written.",
                              "write": [{"path": "plans/plan-calc.md", "content": "# Plan\n1. add(a, b) in calc.py\n"}]}]},
        "implementer": {"rule": [{"match": "Implement", "reply": "Implemented.", "commit": "feat: calc module",
                                  "write": [{"path": "calc.py", "content": CALC},
                                            {"path": "test_calc.py", "content": TEST_CALC}]}]},
        "reviewer": {"rule": [verdict_rule(verdict, findings)]},
    }


PIPELINE = """
[gate]
kind = "local"
require_review = true
commands = ["python test_calc.py"]

[[workflow]]
name = "pipeline"

[[workflow.step]]
id = "plan"
type = "prompt"
agent = "planner"
text = "Write a plan for a calc module into plans/."
wait_for_idle = true
wait_timeout_secs = 120
artifact_glob = ".tutti/worktrees/planner/plans/*.md"
artifact_name = "plan"

[[workflow.step]]
id = "implement"
type = "prompt"
agent = "implementer"
text = "Implement the plan in {{output.plan.path}} (copied to .tutti-inject/) and commit."
inject_files = ["{{output.plan.path}}"]
wait_for_idle = true
wait_timeout_secs = 120

[[workflow.step]]
id = "test"
type = "command"
agent = "implementer"
cwd = "agent_worktree"
run = "python test_calc.py"
fail_mode = "closed"

[[workflow.step]]
id = "review"
type = "review"
agent = "implementer"
reviewer = "reviewer"
REVIEW_EXTRA

[[workflow.step]]
id = "land"
type = "land"
agent = "implementer"
"""


def steps_of(root: Path, run_id: str) -> dict[str, dict]:
    db = sqlite3.connect(root / ".tutti" / "tutti.db")
    db.row_factory = sqlite3.Row
    rows = db.execute("SELECT * FROM steps WHERE run_id = ? ORDER BY step_index", (run_id,)).fetchall()
    db.close()
    out = {}
    for r in rows:
        key = r["step_key"].split("-", 1)[1]
        out[key] = {**dict(r), "outcome": json.loads(r["outcome"]) if r["outcome"] else None}
    return out


def tmux_sessions() -> list[str]:
    res = subprocess.run(["tmux", "-L", os.environ["TUTTI_TMUX_SOCKET"], "list-sessions", "-F", "#{session_name}"],
                         capture_output=True, text=True)
    return res.stdout.split() if res.returncode == 0 else []


def test_three_agent_pipeline_lands_onto_main_through_local_gate(agent_pipeline, tt):
    root = agent_pipeline(agents("approve"), PIPELINE.replace("REVIEW_EXTRA", ""))
    res = tt("run", "pipeline", "--json", cwd=root, timeout=400)
    assert res.returncode == 0, res.stdout + res.stderr
    result = json.loads(res.stdout)
    assert result["status"] == "succeeded"

    steps = steps_of(root, result["run_id"])
    assert all(s["status"] == "success" for s in steps.values()), steps
    # the plan artifact was captured and injected into the implementer's worktree
    plan_raw = Path(steps["plan"]["outcome"]["outputs"]["plan"])
    assert plan_raw.read_text().startswith("# Plan")
    injected = root / ".tutti" / "worktrees" / "implementer" / ".tutti-inject" / plan_raw.name
    assert injected.read_text() == plan_raw.read_text()
    prompt = json.loads((root / ".records" / "implementer.jsonl").read_text().splitlines()[0])["prompt"]
    assert str(plan_raw) in prompt  # {{output.plan.path}} was rendered
    # the verdict was collected and recorded
    assert steps["review"]["outcome"]["side_effects"]["verdict"]["verdict"] == "approve"
    # landed onto main: the implementer's commit, the code, and no injected files
    assert "feat: calc module" in git(root, "log", "--format=%s", "main")
    assert (root / "calc.py").read_text() == CALC
    assert ".tutti-inject" not in git(root, "ls-tree", "-r", "--name-only", "main")
    assert "Landed 1 commit(s)" in steps["land"]["outcome"]["message"]
    # non-persistent sessions started by the run were reclaimed when it ended
    assert tmux_sessions() == []


def test_reviewer_requesting_changes_blocks_the_land_with_findings_in_the_run_record(agent_pipeline, tt):
    findings = [{"file": "calc.py", "line": 2, "severity": "high", "message": "no input validation"}]
    root = agent_pipeline(agents("request_changes", findings),
                          PIPELINE.replace("REVIEW_EXTRA", 'fail_mode = "open"'))
    res = tt("run", "pipeline", "--json", cwd=root, timeout=400)
    assert res.returncode != 0
    result = json.loads(res.stdout)
    assert result["status"] == "failed"
    steps = steps_of(root, result["run_id"])
    assert steps["review"]["status"] == "warning"
    assert steps["review"]["outcome"]["side_effects"]["findings"][0]["message"] == "no input validation"
    land = steps["land"]
    assert land["status"] == "failed"
    assert "requested changes" in land["outcome"]["message"]
    assert "[high] calc.py:2: no input validation" in land["outcome"]["message"]
    assert land["outcome"]["side_effects"]["findings"] == findings
    assert "feat: calc module" not in git(root, "log", "--format=%s", "main")


def test_review_step_fails_closed_on_request_changes(agent_pipeline, tt):
    findings = [{"file": "calc.py", "line": None, "severity": "medium", "message": "missing docstring"}]
    root = agent_pipeline(agents("request_changes", findings), PIPELINE.replace("REVIEW_EXTRA", ""))
    res = tt("run", "pipeline", "--json", cwd=root, timeout=400)
    result = json.loads(res.stdout)
    steps = steps_of(root, result["run_id"])
    assert steps["review"]["status"] == "failed"
    assert "request_changes" in steps["review"]["outcome"]["message"]
    assert "land" not in steps or steps["land"]["status"] is None


LAND_THEN_WAIT = """
[gate]
kind = "local"

[[workflow]]
name = "ship"

[[workflow.step]]
id = "implement"
type = "prompt"
agent = "implementer"
text = "Implement calc and commit."
wait_for_idle = true
wait_timeout_secs = 120

[[workflow.step]]
id = "land"
type = "land"
agent = "implementer"

[[workflow.step]]
id = "after"
type = "command"
run = "sleep 6"  # long enough to be caught running; its step supervisor outlives the kill and resume waits for it
"""


def test_sigkill_after_land_then_resume_does_not_repeat_the_land(agent_pipeline):
    root = agent_pipeline(agents(), LAND_THEN_WAIT, persistent=("implementer",))
    child = subprocess.Popen([sys.executable, "-m", "tutti", "run", "ship"], cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    db_path = root / ".tutti" / "tutti.db"
    deadline = time.monotonic() + 180
    run_id = None
    try:
        while time.monotonic() < deadline:
            if db_path.exists():
                db = sqlite3.connect(db_path)
                try:
                    row = db.execute("SELECT run_id FROM steps WHERE step_key LIKE '%-after' AND status = 'running'").fetchone()
                except sqlite3.OperationalError:  # the run's first open has not migrated the new store yet
                    row = None
                finally:
                    db.close()
                if row:
                    run_id = row[0]
                    break
            assert child.poll() is None, child.communicate()
            time.sleep(0.2)
        assert run_id, "the run never reached the step after land"
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # crash right after the land step
        child.wait()
    landed_head = git(root, "rev-parse", "main").strip()
    assert "feat: calc module" in git(root, "log", "--format=%s", "main")

    # Simulate the worst case: the process died after the cherry-pick but before the land's
    # outcome was committed (intent recorded, no outcome).
    db = sqlite3.connect(db_path)
    db.execute("UPDATE steps SET status = 'running', outcome = NULL, finished_at = NULL "
               "WHERE run_id = ? AND step_key LIKE '%-land'", (run_id,))
    db.execute("UPDATE steps SET status = 'running' WHERE run_id = ? AND step_key LIKE '%-after'", (run_id,))
    db.commit()
    db.close()
    toml = root / "tutti.toml"
    toml.write_text(toml.read_text().replace('run = "sleep 6"', 'run = "true"'))

    res = subprocess.run([sys.executable, "-m", "tutti", "run", "--resume", run_id, "--json"], cwd=root,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    steps = steps_of(root, run_id)
    assert steps["land"]["status"] == "skipped"
    assert "not replayed" in steps["land"]["outcome"]["message"]
    assert steps["after"]["status"] == "success"
    assert git(root, "rev-parse", "main").strip() == landed_head  # no second cherry-pick
    assert git(root, "log", "--format=%s", "main").count("feat: calc module") == 1


REVIEW_ONLY = """
[[workflow]]
name = "rev"

[[workflow.step]]
id = "review"
type = "review"
agent = "implementer"
reviewer = "reviewer"
"""


def test_resume_after_crash_during_review_does_not_resend_the_packet(agent_pipeline, tt):
    # The reviewer never writes a verdict by itself: a human will, after the crash.
    root = agent_pipeline({"implementer": {}, "reviewer": {}}, REVIEW_ONLY, persistent=("reviewer",))
    assert tt("up", "implementer", cwd=root, timeout=120).returncode == 0
    wt = root / ".tutti" / "worktrees" / "implementer"
    (wt / "calc.py").write_text(CALC)
    git(wt, "add", "calc.py")
    git(wt, "commit", "-q", "-m", "feat: calc module")
    child = subprocess.Popen([sys.executable, "-m", "tutti", "run", "rev"], cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    records = root / ".records" / "reviewer.jsonl"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not records.exists():
            assert child.poll() is None, child.communicate()
            time.sleep(0.2)
        assert records.exists(), "the review request never reached the reviewer"
        time.sleep(1)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    prompt = json.loads(records.read_text().splitlines()[0])["prompt"]
    verdict_path = Path(prompt.split("verdict as JSON to ", 1)[1].split(" with", 1)[0])
    verdict_path.write_text(json.dumps({"verdict": "approve", "summary": "late but fine", "findings": []}))
    db = sqlite3.connect(root / ".tutti" / "tutti.db")
    run_id = db.execute("SELECT run_id FROM runs WHERE workflow = 'rev'").fetchone()[0]
    db.close()
    res = subprocess.run([sys.executable, "-m", "tutti", "run", "--resume", run_id, "--json"], cwd=root,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    step = steps_of(root, run_id)["review"]
    assert step["status"] == "success"
    assert step["outcome"]["side_effects"]["resumed_request"] is True
    assert step["outcome"]["side_effects"]["verdict"]["summary"] == "late but fine"
    assert len(records.read_text().splitlines()) == 1  # the packet was not sent twice


PR_LAND = """
[gate]
kind = "github"

[[workflow]]
name = "pr"

[[workflow.step]]
id = "implement"
type = "prompt"
agent = "implementer"
text = "Implement calc and commit."
wait_for_idle = true
wait_timeout_secs = 120

[[workflow.step]]
id = "land"
type = "land"
agent = "implementer"
pr = true
"""


def test_land_pr_pushes_opens_a_pr_and_passes_the_github_gate(agent_pipeline, forge):
    meta = forge.create_repo("acme/widgets")
    root = agent_pipeline(agents(), PR_LAND)
    git(root, "remote", "add", "origin", meta["clone_url"])
    res = subprocess.run([sys.executable, "-m", "tutti", "run", "pr", "--json"], cwd=root, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    land = steps_of(root, json.loads(res.stdout)["run_id"])["land"]
    number = land["outcome"]["side_effects"]["pr_number"]
    assert land["outcome"]["side_effects"]["pr_url"] == f"{forge.url}/acme/widgets/pull/{number}"
    assert f"Merge gate passed for PR #{number} on branch 'tutti/implementer'" in land["outcome"]["message"]
    remote = forge.github.git_dir("acme/widgets")
    assert "feat: calc module" in git(remote, "log", "--format=%s", "tutti/implementer")
    pr = forge.github.repo("acme/widgets")["issues"][str(number)]["pr"]
    assert (pr["head"], pr["base"]) == ("tutti/implementer", "main")
    assert "feat: calc module" not in git(root, "log", "--format=%s", "main")  # a PR land does not merge locally
