"""reviewers = ["agent"]: the reviewer agent's verdict decides each round; its findings go to
the author as a prompt, and its approval of the fixed branch lets the item merge."""

from __future__ import annotations

import json

from tests.loop.conftest import add_items, git, prompts

VERDICT = r"write your verdict as JSON to (\S+) with"
REVIEWER = {"work_secs": 0.1, "rule": [
    {"match": VERDICT, "once": True, "write": [{"path": "{1}", "content": json.dumps(
        {"verdict": "request_changes", "summary": "needs a docstring",
         "findings": [{"file": "mod_2.py", "line": 1, "severity": "medium", "message": "ok() needs a docstring"}]})}]},
    {"match": VERDICT, "write": [{"path": "{1}", "content": json.dumps(
        {"verdict": "approve", "summary": "good", "findings": []})}]},
]}


def test_reviewer_agent_requests_changes_then_approves_and_the_item_merges(loop_workspace, tt):
    root = loop_workspace('[loop]\nworkflow = "build"\nreviewers = ["agent"]\nreviewer = "reviewer"\n'
                          'poll_secs = 0.5\n[loop.merge_queue]\nverify = ["python3 check.py"]\n',
                          extra_agents={"reviewer": REVIEWER}, persistent=("reviewer",))  # one reviewer process
    [key] = add_items(root, ["add mod 2"])
    res = tt("loop", "--once", "--json", cwd=root, timeout=400)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    [item] = json.loads(res.stdout)["items"]
    assert item["status"] == "merged" and item["rounds"] == 2
    fix = [p for p in prompts(root, "implementer") if "requested changes" in p]
    assert len(fix) == 1 and "ok() needs a docstring" in fix[0] and "mod_2.py:1" in fix[0]
    assert len([p for p in prompts(root, "reviewer") if "write your verdict" in p]) == 2

    from tutti.workspace import load_workspace_at

    ws = load_workspace_at(root)
    verdicts = [e.data["verdict"] for e in ws.store.read_events(kinds=["review.verdict"])]
    assert verdicts == ["request_changes", "approve"]
    assert "mod_2.py" in git(root, "ls-tree", "--name-only", "main")
