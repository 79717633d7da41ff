"""End to end through the `tt` command line: three fake agents, real tmux, real git."""

from __future__ import annotations

import json
import subprocess
import time

from tests.conftest import git
from tests.helpers import wait_until

from tutti.ops.supervisor_process import running_pid
from tutti.sessions.tmux import TmuxBackend
from tutti.workspace import load_workspace_at

SCRIPT = """
work_secs = 0.8
reply = "Done."

[[rule]]
match = "create (\\\\S+)"
reply = "Created {1} for you."
commit = "add {1}"
[[rule.write]]
path = "{1}"
content = "hello from the agent\\n"
"""

SECRET = "sk-e2e-secret-9876"


def test_three_agents_from_up_to_down_clean(fake_workspace, tt):
    root = fake_workspace([{"name": "c", "depends_on": ["b"]}, {"name": "b", "depends_on": ["a"]}, {"name": "a"}],
                          script=SCRIPT, env={"API_TOKEN": SECRET})
    ws = load_workspace_at(root)

    up = tt("up", cwd=root)
    assert up.returncode == 0, up.stderr
    assert [line.split()[0] for line in up.stdout.splitlines()[1:4]] == ["a", "b", "c"]
    assert sorted(TmuxBackend().list()) == [ws.session_name(n) for n in "abc"]
    for name in "abc":
        assert (root / ".tutti" / "worktrees" / name / "README.md").exists()
    assert [e.agent for e in ws.store.read_events(kinds=["agent.started"])] == ["a", "b", "c"]
    watcher = wait_until(lambda: running_pid(root))

    sent = tt("send", "a", "please", "create", "hello.txt", "--wait", "--output", "--idle-stable-secs", "1", cwd=root)
    assert sent.returncode == 0, sent.stderr
    assert "wait completed (runtime_signal" in sent.stdout
    assert "Created hello.txt for you." in sent.stdout

    # the watcher saw the turn: working then idle, as events in the store
    wait_until(lambda: [e.kind for e in ws.store.read_events(agent="a")
                        if e.kind in ("agent.working", "agent.idle")][-2:] == ["agent.working", "agent.idle"])

    diff = tt("diff", "a", cwd=root)
    assert diff.returncode == 0 and "+hello from the agent" in diff.stdout and "add hello.txt" in diff.stdout

    peek = tt("peek", "a", "-l", "500", cwd=root)
    assert peek.returncode == 0 and "Created hello.txt" in peek.stdout and SECRET not in peek.stdout

    status = json.loads(tt("status", "--json", cwd=root).stdout)
    assert {s["agent"]: s["state"] for s in status} == {"c": "idle", "b": "idle", "a": "idle"}
    detect = json.loads(tt("detect", "a", "--json", cwd=root).stdout)
    assert detect["status"] == "Idle" and detect["evidence"]

    logs = tt("logs", "a", "-l", "200", cwd=root)
    assert logs.returncode == 0 and "Created hello.txt" in logs.stdout

    landed = tt("land", "a", cwd=root)
    assert landed.returncode == 0, landed.stderr
    assert "Landed 1 commit(s) from a (tutti/a) onto main." in landed.stdout
    assert (root / "hello.txt").read_text() == "hello from the agent\n"
    assert git(root, "log", "-1", "--format=%s").strip() == "add hello.txt"

    down = tt("down", "--clean", cwd=root)
    assert down.returncode == 0, down.stderr
    assert "Stopped 3 agent(s)." in down.stdout
    assert TmuxBackend().list() == []
    assert list((root / ".tutti" / "worktrees").iterdir()) == []
    assert "tutti/" not in git(root, "branch", "--list")
    assert git(root, "worktree", "list").count("\n") == 1
    wait_until(lambda: running_pid(root) is None, timeout=30)
    assert watcher


def test_user_mistakes_are_one_line_errors_without_tracebacks(fake_workspace, tt):
    root = fake_workspace([{"name": "a"}], script=SCRIPT)
    for args, category in ((["send", "nobody", "hi"], "not_found"), (["peek", "a"], "runtime"),
                           (["send", "a", "hi"], "runtime"), (["land", "a"], "routing"),
                           (["send", "ghost/a", "hi"], "not_found")):
        res = tt(*args, cwd=root)
        assert res.returncode != 0
        assert res.stderr.startswith(f"error[{category}]: "), res.stderr
        assert "Traceback" not in res.stderr and "hint:" in res.stderr


def test_workspaces_lists_the_registry_with_running_counts(fake_workspace, tt, tutti_home):
    root = fake_workspace([{"name": "a"}], script=SCRIPT, name="proj")
    (tutti_home / "config.toml").write_text(f'[[registered_workspace]]\nname = "proj"\npath = "{root}"\n')
    assert tt("up", "proj/a", cwd=root.parent).returncode == 0
    listed = tt("workspaces", "status", cwd=root.parent)
    assert listed.returncode == 0 and "proj" in listed.stdout and "1/1" in listed.stdout
    picked = json.loads(tt("switch", "--json", cwd=root.parent).stdout)
    assert [(p["workspace"], p["agent"]) for p in picked] == [("proj", "a")]
    assert tt("down", "proj/a", cwd=root.parent).returncode == 0
    assert json.loads(tt("status", "--all", "--json", cwd=root.parent).stdout)[0]["state"] == "stopped"
    every = tt("up", "--all", cwd=root.parent)
    assert every.returncode == 0 and "proj" in every.stdout
    assert tt("down", "--all", cwd=root.parent).stdout.strip() == "Stopped 1 agent(s)."


def test_logs_follow_prints_new_output(fake_workspace, tt):
    import os
    import select
    import sys

    root = fake_workspace([{"name": "a"}], script=SCRIPT)
    assert tt("up", cwd=root).returncode == 0
    log = root / ".tutti" / "logs" / "a.log"
    wait_until(lambda: log.exists())
    follower = subprocess.Popen([sys.executable, "-m", "tutti", "logs", "a", "-f"], cwd=root, stdout=subprocess.PIPE,
                                env=dict(os.environ))
    try:
        assert tt("send", "a", "create", "later.txt", "--wait", "--idle-stable-secs", "1", cwd=root).returncode == 0
        seen = ""
        deadline = time.monotonic() + 30
        while "Created later.txt" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([follower.stdout], [], [], 1.0)
            if ready:
                seen += os.read(follower.stdout.fileno(), 65536).decode("utf-8", "replace")
        assert "Created later.txt" in seen
    finally:
        follower.terminate()
        follower.wait(timeout=10)
        tt("down", cwd=root)


def test_a_900_line_prompt_through_the_cli_arrives_intact(fake_workspace, tt):
    root = fake_workspace([{"name": "a"}], script=SCRIPT)
    text = "\n".join(f"line {i:03d}: keep every character \\ ' \" $HOME `x` intact" for i in range(900))
    sent = tt("send", "a", text, "--auto-up", "--wait", "--idle-stable-secs", "1", cwd=root, timeout=180)
    assert sent.returncode == 0, sent.stderr
    records = [json.loads(line) for line in (root / ".records" / "a.jsonl").read_text().splitlines() if line.strip()]
    assert [r["prompt"] for r in records] == [text]
    assert tt("down", cwd=root).returncode == 0
