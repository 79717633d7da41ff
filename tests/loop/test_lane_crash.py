"""SIGKILL of a loop process mid-item: another process takes the item over once the lease
expires, resumes its checkpointed run (no finished step redone) and merges it exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.loop.conftest import WORKFLOW, add_items, git, prompts, verify_every_commit

SLOW = WORKFLOW.replace('run = "git log --oneline -1 && echo {{item.title}}"',
                        'run = "python3 -c \'import time; time.sleep(5)\'"')
LOOP = ('[loop]\nworkflow = "build"\nlanes = 1\nreviewers = ["ci"]\nlease_ttl_secs = 3\npoll_secs = 0.3\n'
        '[loop.merge_queue]\nverify = ["python3 check.py"]\n')


def _wait_step_running(ws, index: int, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = ws.store.query("SELECT run_id FROM steps WHERE step_index = ? AND status = 'running'", (index,))
        if rows:
            return rows[0]["run_id"]
        time.sleep(0.1)
    raise AssertionError(f"step {index} never started")


def test_sigkilled_lane_is_taken_over_after_lease_expiry_without_redoing_steps(loop_workspace, tt):
    from tutti.workspace import load_workspace_at

    root = loop_workspace(LOOP)
    toml = (root / "tutti.toml").read_text()
    (root / "tutti.toml").write_text(toml.replace(WORKFLOW, SLOW))
    base = git(root, "rev-parse", "main").strip()
    [key] = add_items(root, ["add mod 8"])
    ws = load_workspace_at(root)

    first = subprocess.Popen([sys.executable, "-m", "tutti", "loop", "--once", "--first-lane", "1"], cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    run_id = _wait_step_running(ws, 2)  # the agent's step is done; the slow command is running
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)

    second = tt("loop", "--once", "--first-lane", "2", "--json", cwd=root, timeout=240)
    assert second.returncode == 0, second.stdout + second.stderr
    [item] = json.loads(second.stdout)["items"]
    assert item["key"] == key and item["status"] == "merged" and item["resumed"] is True
    assert item["run_id"] == run_id and item["lane"] == "lane-2" and item["agent"] == "implementer-1"

    # the implement step ran once: one prompt to the agent, attempt 1, carried over on resume
    assert len([p for p in prompts(root, "implementer") if p.startswith("Work item: add mod 8")]) == 1
    steps = {r["step_index"]: r for r in ws.store.query("SELECT * FROM steps WHERE run_id = ?", (run_id,))}
    assert steps[1]["attempt"] == 1 and steps[1]["status"] == "success"
    assert steps[2]["attempt"] == 2 and steps[2]["status"] == "success"  # interrupted, so replayed

    events = [(e.kind, e.data) for e in ws.store.read_events(kind_prefix="loop.") if e.data.get("key") == key]
    kinds = [k for k, _ in events]
    assert kinds.count("loop.item.started") == 1 and kinds.count("loop.item.resumed") == 1
    assert kinds.count("loop.item.landed") == 1 and kinds.count("loop.item.closed") == 1
    acquired = [e.data for e in ws.store.read_events(kinds=["lease.acquired"]) if e.data["key"] == key]
    assert [a["fencing_token"] for a in acquired] == [1, 2]
    assert acquired[0]["holder"].endswith("lane-1") and acquired[1]["holder"].endswith("lane-2")

    from tutti.intake import local

    assert len(local.comments(ws.store, "queue", key.rsplit("#", 1)[1])) == 1  # closed with one comment
    verify_every_commit(root, base)


def test_sigkill_after_the_pr_opened_reuses_it_no_duplicate_pr_or_comment(loop_workspace, forge, tt):
    from tests.loop.test_loop_forge import INTAKE, REPO, gh

    from tutti.workspace import load_workspace_at

    loop = ('[loop]\nworkflow = "build"\nlanes = 1\nremote = "origin"\npr = true\nreviewers = ["ci"]\n'
            'lease_ttl_secs = 3\npoll_secs = 0.3\n[loop.merge_queue]\nverify = ["sleep 3 && python3 check.py"]\n')
    root = loop_workspace(loop, intake_toml=INTAKE.replace("lease_ttl_secs = 30", "lease_ttl_secs = 10"))
    meta = forge.create_repo(REPO)
    git(root, "remote", "add", "origin", meta["clone_url"])
    git(root, "push", "-q", "origin", "main")
    forge.create_issue(REPO, "add mod 9", labels=["agent-ready"])
    ws = load_workspace_at(root)

    first = subprocess.Popen([sys.executable, "-m", "tutti", "loop", "--once", "--first-lane", "1"], cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    deadline = time.monotonic() + 120
    while not ws.store.read_events(kinds=["loop.pr.opened"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ws.store.read_events(kinds=["loop.pr.opened"]), "the PR was never opened"
    os.kill(first.pid, signal.SIGKILL)  # in the review round (the slow verify)
    first.wait(10)

    second = tt("loop", "--once", "--first-lane", "2", "--json", cwd=root, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    [item] = json.loads(second.stdout)["items"]
    assert item["status"] == "merged" and item["resumed"] is True and item["lane"] == "lane-2"
    client = gh()
    prs = client.paginate(f"/repos/{REPO}/pulls", {"state": "all"})
    assert len(prs) == 1 and prs[0]["merged"]
    comments = [c for c in client.comments(1) if "tutti-loop item=" in c["body"]]
    assert len(comments) == 1 and client.get_issue(1)["state"] == "closed"
    assert len(ws.store.read_events(kinds=["loop.pr.opened"])) == 1
    assert len([p for p in prompts(root, "implementer") if p.startswith("Work item: add mod 9")]) == 1
