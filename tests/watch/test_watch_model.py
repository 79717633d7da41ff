"""ops.watch: the run lane and agent rows follow the event spine (no tmux needed)."""

from __future__ import annotations

import json

from tests.serve.live import load, write_workspace

from tutti.ops.watch import WatchModel

PIPE = """
[[workflow]]
name = "pipe"

[[workflow.step]]
id = "one"
type = "command"
run = "true"

[[workflow.step]]
id = "two"
type = "command"
run = "exit 4"
"""


def test_run_lane_and_rows_follow_events(git_repo, tt):
    ws = load(write_workspace(git_repo, extra=PIPE))
    model = WatchModel(ws).load()
    assert model.lane() == [] and set(model.agents) == {"planner", "builder"}
    res = tt("run", "check", cwd=ws.root)
    assert res.returncode == 0, res.stderr
    tt("run", "pipe", cwd=ws.root)
    ws.store.append_event("agent.working", agent="builder", data={"to": "working"})
    ws.store.append_event("agent.prompt_sent", agent="builder", data={"text": "fix   the\nflaky test"})
    model.read_new()
    lane = {r.workflow: r for r in model.lane()}
    assert (lane["check"].status, lane["check"].steps_done, lane["check"].steps_total) == ("succeeded", 2, 2)
    assert lane["pipe"].status in ("failed", "succeeded") and lane["pipe"].steps_done == 2
    row = model.agents["builder"]
    assert (row.state, row.task) == ("working", "fix the flaky test")
    assert model.failing() == []
    ws.store.append_event("agent.rate_limited", agent="planner", data={"to": "rate_limited"})
    model.read_new()
    assert model.failing() == ["planner"]
    # a fresh model built from the store agrees with the one moved along by events
    fresh = WatchModel(ws).load().snapshot()
    assert {a["agent"]: a["state"] for a in fresh["agents"]} == {"planner": "rate_limited", "builder": "working"}
    assert {r["workflow"]: r["steps_done"] for r in fresh["runs"]} == {"check": 2, "pipe": 2}


def test_once_text_view_fits_80_columns(git_repo, tt):
    ws = load(write_workspace(git_repo, extra=PIPE))
    tt("run", "check", cwd=ws.root)
    res = tt("watch", "--once", cwd=ws.root, env={"COLUMNS": "80", "LINES": "24", "NO_COLOR": "1"})
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("tutti watch · demo · 2 agents")
    assert any("check" in line and "2/2" in line for line in lines)
    assert all(len(line) <= 80 for line in lines) and "\x1b[" not in res.stdout
    data = json.loads(tt("watch", "--once", "--json", cwd=ws.root).stdout)
    assert data["runs"][0]["workflow"] == "check"
