"""A loop workspace: a real git repo whose implementer is the shipped fake agent, scripted to
add `mod_N.py` for an item titled "add mod N" (and to break it first when told), a verify
command that imports every module, and a local-queue intake."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

CHECK = """import glob, importlib.util, sys
for path in sorted(glob.glob("mod_*.py")):
    spec = importlib.util.spec_from_file_location(path[:-3], path)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    if not mod.ok():
        print(f"FAILED {path}: ok() returned False"); sys.exit(1)
print("all green")
"""
GOOD = "def ok():\n    return True\n"
BAD = "def ok():\n    return False\n"

# The fix prompt quotes the title, so its rule comes first; "broken" titles commit a failing
# module on the first attempt.
IMPLEMENTER = {
    "work_secs": 0.1,
    "rule": [
        {"match": r"requested changes on your work for \"(?:add|broken) mod (\d+)\"", "work_secs": 0.1,
         "write": [{"path": "mod_{1}.py", "content": GOOD}, {"path": "FIXES.md", "content": "fixed {1}\n", "append": True}],
         "commit": "fix mod {1}", "reply": "Fixed."},
        {"match": r"Work item: broken mod (\d+)", "work_secs": 0.1,
         "write": [{"path": "mod_{1}.py", "content": BAD}], "commit": "add mod {1} (broken)", "reply": "Done."},
        {"match": r"Work item: add mod (\d+)", "work_secs": 0.1,
         "write": [{"path": "mod_{1}.py", "content": GOOD}], "commit": "add mod {1}", "reply": "Done."},
    ],
}

WORKFLOW = """
[[workflow]]
name = "build"

[[workflow.step]]
id = "implement"
type = "prompt"
agent = "implementer"
text = "Work item: {{item.title}} ({{item.key}})"
wait_for_idle = true
wait_timeout_secs = 120

[[workflow.step]]
id = "show"
type = "command"
agent = "implementer"
cwd = "agent_worktree"
run = "git log --oneline -1 && echo {{item.title}}"
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def loop_workspace(agent_pipeline):
    """`loop_workspace(loop_toml="...", intake_toml=...)` → workspace root (clean main with check.py)."""

    def _make(loop_toml: str = "", *, lanes: int = 2, extra_agents: dict | None = None,
              intake_toml: str = '[[intake]]\nname = "q"\nkind = "queue"\n', persistent: tuple[str, ...] = ()) -> Path:
        agents = {"implementer": IMPLEMENTER, **(extra_agents or {})}
        body = WORKFLOW + "\n" + intake_toml + "\n" + (loop_toml or (
            f'[loop]\nworkflow = "build"\nlanes = {lanes}\nreviewers = ["ci"]\nlease_ttl_secs = 30\n'
            'poll_secs = 0.5\n[loop.merge_queue]\nverify = ["python3 check.py"]\n'))
        root = agent_pipeline(agents, body, name="loopws", persistent=persistent)
        (root / "check.py").write_text(CHECK)
        git(root, "add", "check.py")
        git(root, "commit", "-q", "-m", "add check")
        return root

    return _make


def add_items(root: Path, titles: list[str]) -> list[str]:
    from tutti.intake import local
    from tutti.workspace import load_workspace_at

    ws = load_workspace_at(root)
    return [local.add_item(ws.store, "queue", t)[0].key for t in titles]


def verify_every_commit(root: Path, since: str) -> None:
    for sha in git(root, "rev-list", f"{since}..main").split():
        wt = root.parent / f"v-{sha[:10]}"
        git(root, "worktree", "add", "-q", "--detach", str(wt), sha)
        try:
            res = subprocess.run(["python3", "check.py"], cwd=wt, capture_output=True, text=True)
            assert res.returncode == 0, f"{sha} breaks verify: {res.stdout}"
        finally:
            git(root, "worktree", "remove", "--force", str(wt))


def prompts(root: Path, agent: str) -> list[str]:
    path = root / ".records" / f"{agent}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line).get("prompt", line) for line in path.read_text().splitlines() if line.strip()]


# An "instant agent": the implement step is a command that writes and commits the module, so
# the loop runs without tmux (API tests, the benchmark's pure loop overhead).
INSTANT_TOML = """
[workspace]
name = "instant"

[defaults]
runtime = "fake"

[[agent]]
name = "implementer"

[[workflow]]
name = "build"

[[workflow.step]]
id = "implement"
type = "command"
agent = "implementer"
cwd = "agent_worktree"
fail_mode = "closed"
run = "printf 'def ok():\\\\n    return %s\\\\n' $(case {{item.title}} in *broken*) echo False;; *) echo True;; esac) > mod_{{item.id}}.py && git add -A && git commit -qm {{item.title}}"

[[intake]]
name = "q"
kind = "queue"

[loop]
workflow = "build"
lanes = @lanes@
reviewers = @reviewers@
lease_ttl_secs = 30
poll_secs = 0.2

max_review_rounds = @rounds@

[loop.merge_queue]
verify = ["python3 check.py"]
batch = @batch@
batch_wait_secs = @wait@
"""


def instant_workspace(root: Path, *, lanes: int = 2, batch: int = 1, reviewers: str = '["ci"]', rounds: int = 3,
                      batch_wait: float = 0.0) -> Path:
    text = INSTANT_TOML
    for key, value in {"lanes": lanes, "batch": batch, "reviewers": reviewers, "rounds": rounds, "wait": batch_wait}.items():
        text = text.replace(f"@{key}@", str(value))
    (root / "tutti.toml").write_text(text)
    (root / "check.py").write_text(CHECK)
    exclude = root / ".git" / "info" / "exclude"
    exclude.write_text(exclude.read_text() + "tutti.toml\n.tutti/\n")
    git(root, "add", "check.py")
    git(root, "commit", "-q", "-m", "add check")
    return root
