"""`tt review AGENT --reviewer R --wait` end to end: real tmux, real worktrees, the fake agent."""

from __future__ import annotations

import json
import subprocess

import pytest

pytestmark = pytest.mark.slow


def reviewer_script(verdict: str) -> dict:
    content = json.dumps({"verdict": verdict, "summary": "looked at it",
                          "findings": [{"file": "app.py", "line": 1, "severity": "low", "message": "name it better"}]})
    return {"rule": [{"match": r"verdict as JSON to (\S+) with", "write": [{"path": "{1}", "content": content}]}]}


def setup(agent_pipeline, tt, verdict: str):
    root = agent_pipeline({"impl": {}, "reviewer": reviewer_script(verdict)})
    for agent in ("impl", "reviewer"):
        res = tt("up", agent, cwd=root, timeout=120)
        assert res.returncode == 0, res.stderr
    return root


def test_review_without_changes_sends_nothing(agent_pipeline, tt):
    root = setup(agent_pipeline, tt, "approve")
    res = tt("review", "impl", "--reviewer", "reviewer", "--json", cwd=root)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["sent"] is False and data["message"] == "No changes found for impl. Nothing to send for review."
    assert not (root / ".records" / "reviewer.jsonl").exists()


@pytest.mark.parametrize("verdict, code", [("approve", 0), ("request_changes", 1)])
def test_review_wait_collects_and_records_the_verdict(agent_pipeline, tt, verdict, code):
    root = setup(agent_pipeline, tt, verdict)
    wt = root / ".tutti" / "worktrees" / "impl"
    (wt / "app.py").write_text("x = 1\n")
    subprocess.run(["git", "add", "app.py"], cwd=wt, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "app"], cwd=wt, check=True)
    res = tt("review", "impl", "--reviewer", "reviewer", "--wait", "--timeout-secs", "90", "--json", cwd=root,
             timeout=180)
    assert res.returncode == code, res.stderr
    data = json.loads(res.stdout)
    assert data["verdict"]["verdict"] == verdict
    assert data["verdict"]["findings"][0]["message"] == "name it better"
    assert data["packet"].startswith(str(root / ".tutti" / "state" / "reviews" / "impl-review-"))
    prompt = json.loads((root / ".records" / "reviewer.jsonl").read_text().splitlines()[0])["prompt"]
    assert data["packet"] in prompt and data["verdict_path"] in prompt
    from tutti.gates.review import latest_verdict
    from tutti.workspace import load_workspace_at

    assert latest_verdict(load_workspace_at(root), "impl").verdict == verdict
