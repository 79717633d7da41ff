"""Prompt / ensure_running steps against real tmux sessions running the fake agent CLI."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from tests.helpers import wait_until

from tutti.workflows.artifacts import expand_glob, new_files, slugify, snapshot

pytestmark = pytest.mark.slow


def run_tt(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tutti", *args], cwd=root, capture_output=True, text=True,
                          timeout=timeout)


def steps_of(root: Path, run_id: str) -> dict[str, dict]:
    db = sqlite3.connect(root / ".tutti" / "tutti.db")
    db.row_factory = sqlite3.Row
    rows = db.execute("SELECT * FROM steps WHERE run_id = ? ORDER BY step_index", (run_id,)).fetchall()
    db.close()
    return {r["step_key"].split("-", 1)[1]: {**dict(r), "outcome": json.loads(r["outcome"] or "null")} for r in rows}


def prompts(root: Path, agent: str) -> list[str]:
    path = root / ".records" / f"{agent}.jsonl"
    return [json.loads(line)["prompt"] for line in path.read_text().splitlines()] if path.exists() else []


POLLING = """
[[workflow]]
name = "skill"

[[workflow.step]]
id = "ask"
type = "prompt"
agent = "human"
text = "Run the office-hours skill and save the design doc."
wait_for_idle = false
wait_timeout_secs = TIMEOUT
artifact_glob = ".tutti/worktrees/{agent}/designs/*.md"
artifact_name = "design"
"""


def test_artifact_polling_completes_when_file_appears_while_agent_sits_at_prompt(agent_pipeline):
    root = agent_pipeline({"human": {}}, POLLING.replace("TIMEOUT", "90"))
    child = subprocess.Popen([sys.executable, "-m", "tutti", "run", "skill", "--json"], cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: prompts(root, "human"), timeout=90, interval=0.2, what="the prompt to reach the agent")
    time.sleep(4)  # the agent answered "Done." and is idle at its prompt; the human is still working
    assert child.poll() is None, "the step must not complete on the agent going idle"
    design = root / ".tutti" / "worktrees" / "human" / "designs" / "design.md"
    design.parent.mkdir(parents=True, exist_ok=True)
    design.write_text("# Design\napproved by a human\n")
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, out + err
    result = json.loads(out)
    step = steps_of(root, result["run_id"])["ask"]
    assert step["status"] == "success"
    raw = Path(step["outcome"]["outputs"]["design"])
    assert raw.read_text() == "# Design\napproved by a human\n"
    assert step["outcome"]["side_effects"]["artifact"] == str(design)


def test_artifact_polling_times_out_cleanly(agent_pipeline):
    root = agent_pipeline({"human": {}}, POLLING.replace("TIMEOUT", "4"))
    res = run_tt(root, "run", "skill", "--json")
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    result = json.loads(res.stdout)
    step = steps_of(root, result["run_id"])["ask"]
    assert step["status"] == "failed"
    assert step["outcome"]["message"] == "artifact 'design' not found after 4s of polling"


def test_artifact_polling_fails_fast_when_the_session_exits(agent_pipeline):
    root = agent_pipeline({"human": {"rule": [{"match": "office-hours", "fail": "crash"}]}},
                          POLLING.replace("TIMEOUT", "120"))
    started = time.monotonic()
    res = run_tt(root, "run", "skill", "--json")
    assert res.returncode != 0
    assert time.monotonic() - started < 90
    step = steps_of(root, json.loads(res.stdout)["run_id"])["ask"]
    assert "session exited before artifact 'design' was produced" in step["outcome"]["message"]


PARALLEL = """
[[workflow]]
name = "both"

[[workflow.step]]
id = "left"
type = "prompt"
agent = "alpha"
text = "Build the left half."
wait_for_idle = true
wait_timeout_secs = 120

[[workflow.step]]
id = "right"
type = "prompt"
agent = "beta"
text = "Build the right half."
wait_for_idle = true
wait_timeout_secs = 120
depends_on = []
"""


def test_two_independent_prompt_steps_on_two_agents_run_concurrently(agent_pipeline):
    slow = {"work_secs": 4.0}
    root = agent_pipeline({"alpha": slow, "beta": slow}, PARALLEL)
    res = run_tt(root, "run", "both", "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    steps = steps_of(root, json.loads(res.stdout)["run_id"])

    def window(s):
        w = s["outcome"]["side_effects"]["window"]
        return datetime.fromisoformat(w["started_at"]), datetime.fromisoformat(w["finished_at"])

    (a0, a1), (b0, b1) = window(steps["left"]), window(steps["right"])
    assert a0 < b1 and b0 < a1, "the two steps' time windows must overlap"
    overlap = (min(a1, b1) - max(a0, b0)).total_seconds()
    assert overlap > 3.0  # both agents were working (4 s each) at the same time


OUTPUT_JSON = """
[[workflow]]
name = "json"

[[workflow.step]]
id = "facts"
type = "prompt"
agent = "writer"
text = "Summarise the repo."
output_json = "facts.json"
wait_for_idle = true
wait_timeout_secs = 120
"""


def test_output_json_missing_triggers_exactly_one_reask(agent_pipeline):
    script = {"rule": [{"match": r"required output file at (\S+)\. Do not", "reply": "Written.",
                        "write": [{"path": "{1}", "content": '{"files": 1}'}]}]}
    root = agent_pipeline({"writer": script}, OUTPUT_JSON)
    res = run_tt(root, "run", "json", "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    step = steps_of(root, json.loads(res.stdout)["run_id"])["facts"]
    assert step["outcome"]["side_effects"]["output_json_reasked"] is True
    assert json.loads(Path(step["outcome"]["outputs"]["facts"]).read_text()) == {"files": 1}
    sent = prompts(root, "writer")
    assert len(sent) == 2 and sent[1].startswith("You returned without writing the required output file at ")


INJECT_OUTSIDE = """
[[workflow]]
name = "sneaky"

[[workflow.step]]
type = "prompt"
agent = "writer"
text = "Read the injected file."
inject_files = ["../../../etc/hostname"]
"""


def test_inject_files_outside_the_workspace_are_refused(agent_pipeline):
    root = agent_pipeline({"writer": {}}, INJECT_OUTSIDE)
    res = run_tt(root, "run", "sneaky", "--json")
    assert res.returncode != 0
    step = next(iter(steps_of(root, json.loads(res.stdout)["run_id"]).values()))
    assert "resolves outside the workspace" in step["outcome"]["message"]
    assert prompts(root, "writer") == []  # nothing was sent


RECLAIM = """
[[hook]]
event = "agent_stop"
run = "echo stopped >> agent-stop.log"

[[workflow]]
name = "warm"

[[workflow.step]]
id = "temp"
type = "ensure_running"
agent = "temp"

[[workflow.step]]
id = "keeper"
type = "ensure_running"
agent = "keeper"
"""


def test_ensure_running_starts_agents_and_run_end_reclaims_only_non_persistent_ones(agent_pipeline, tmux_socket):
    root = agent_pipeline({"temp": {}, "keeper": {}}, RECLAIM, persistent=("keeper",))
    res = run_tt(root, "run", "warm", "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    steps = list(steps_of(root, json.loads(res.stdout)["run_id"]).values())
    assert [s["outcome"]["message"] for s in steps] == ["started agent 'temp'", "started agent 'keeper'"]
    sessions = subprocess.run(["tmux", "-L", tmux_socket, "list-sessions", "-F", "#{session_name}"],
                              capture_output=True, text=True).stdout.split()
    assert sessions == ["tutti-pipe-keeper"]  # temp was reclaimed when the run ended
    assert (root / "agent-stop.log").read_text().strip() == "stopped"  # agent_stop hook fired once
    again = run_tt(root, "run", "warm", "--json")
    steps = list(steps_of(root, json.loads(again.stdout)["run_id"]).values())
    assert steps[1]["outcome"]["message"] == "agent 'keeper' already running"


def test_glob_interpolation_and_new_file_detection(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TUTTI_SLUG", raising=False)
    assert expand_glob("~/designs/*.md", workspace_root=tmp_path, workspace_name="W", agent="a") == \
        f"{tmp_path}/home/designs/*.md"
    # `{workspace}` is the workspace *name* (issue #11, as the original); relative → workspace-relative
    assert expand_glob("{workspace}/out/{agent}-*.json", workspace_root=tmp_path, workspace_name="W", agent="pm") == \
        f"{tmp_path}/W/out/pm-*.json"
    assert expand_glob("docs/{slug}/*.md", workspace_root=tmp_path, workspace_name="My App!", agent=None) == \
        f"{tmp_path}/docs/my-app/*.md"
    assert slugify("My App!") == "my-app"
    (tmp_path / "out").mkdir()
    old = tmp_path / "out" / "pm-1.json"
    old.write_text("{}")
    pattern = f"{tmp_path}/out/pm-*.json"
    before = snapshot(pattern)
    assert new_files(pattern, before) == []  # a stale file never counts
    fresh = tmp_path / "out" / "pm-2.json"
    fresh.write_text("{}")
    assert new_files(pattern, before) == [fresh]


DIALOG = """
[[workflow]]
name = "ask"

[[workflow.step]]
id = "first"
type = "prompt"
agent = "writer"
text = "Delete the build directory."
wait_for_idle = true
wait_timeout_secs = 120

[[workflow.step]]
id = "second"
type = "prompt"
agent = "writer"
text = "Then summarise."
wait_for_idle = true
"""


def test_agent_blocked_on_a_dialog_fails_the_step_instead_of_completing(agent_pipeline):
    root = agent_pipeline({"writer": {"rule": [{"match": "Delete", "fail": "dialog"}]}}, DIALOG, persistent=("writer",))
    res = run_tt(root, "run", "ask", "--json")
    assert res.returncode != 0
    steps = steps_of(root, json.loads(res.stdout)["run_id"])
    assert steps["first"]["status"] == "failed"
    assert "waits for an answer" in steps["first"]["outcome"]["message"]
    assert "second" not in steps  # a closed prompt failure stops the run
    assert prompts(root, "writer") == ["Delete the build directory."]  # nothing typed into the dialog
