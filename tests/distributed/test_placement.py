"""Placement by labels on a real Temporal dev server: agents with `host_labels` are taken by the
first `tt host --label …` that pulls their step, stay on that host for later steps and runs
(the control store's `agent_placement`), fail clearly when no host has their labels or their
host is gone, and move after `tt host unplace`."""

from __future__ import annotations

import json
import signal
import time

import pytest

from .conftest import SCRIPT
from .harness import query, running_cluster

pytestmark = [pytest.mark.temporal, pytest.mark.slow]

AGENTS = (
    '[[agent]]\nname = "g1"\nhost_labels = ["gpu"]\n{env}\n'
    '[[agent]]\nname = "t1"\nhost_labels = ["tpu"]\n\n'
    '[[workflow]]\nname = "gpu"\n'
    '[[workflow.step]]\ntype = "prompt"\nagent = "g1"\ntext = "gpu task"\nwait_for_idle = true\n'
    '[[workflow.step]]\ntype = "command"\nagent = "g1"\nrun = "echo second"\ndepends_on = [1]\n'
    '[[workflow.step]]\ntype = "command"\nrun = "echo control"\ndepends_on = [2]\n\n'
    '[[workflow]]\nname = "tpu"\n[[workflow.step]]\ntype = "command"\nagent = "t1"\nrun = "echo never"\n'
    'fail_mode = "closed"\n'
)


@pytest.fixture
def labelled(git_repo, tmp_path):
    records = git_repo / ".records"  # the Cluster's fake-agent records
    env = f'env = {{ TUTTI_FAKE_SCRIPT = "{records / "script.toml"}", TUTTI_FAKE_RECORD = "{records / "g1.jsonl"}" }}\n'

    def config(text: str) -> str:
        return text.replace("heartbeat_secs = 1.0\n", "heartbeat_secs = 1.0\nplacement_timeout_secs = 6\n") \
            + "\n" + AGENTS.format(env=env)

    # both hosts have `gpu`: which one takes g1 is a race, that it then stays there is the point
    with running_cluster(git_repo, tmp_path, SCRIPT, config=config,
                         host_args={"h1": ["--label", "gpu", "--label", "linux"], "h2": ["--label", "gpu"]}) as c:
        yield c


def _ran_on(c, run_id: str) -> dict[str, int]:
    return {h: len(query(c.host_db(h), "SELECT 1 FROM steps WHERE run_id = ?", (run_id,))) for h in ("h1", "h2")}


def _placements(c) -> list[tuple]:
    return query(c.repo / ".tutti" / "tutti.db", "SELECT agent, host, labels FROM agent_placement")


def test_label_placed_agent_stays_on_the_host_that_took_it(labelled):
    c = labelled
    first = c.tt("run", "gpu", "--json")
    assert first.returncode == 0, first.stdout + first.stderr
    run1 = json.loads(first.stdout)["run_id"]
    [(agent, host, labels)] = _placements(c)
    assert agent == "g1" and host in ("h1", "h2") and json.loads(labels) == ["gpu"]
    other = "h2" if host == "h1" else "h1"
    assert _ran_on(c, run1) == {host: 2, other: 0}  # both g1 steps on one host; the third on the control
    assert (c.tmp / host / "repo" / ".tutti" / "worktrees" / "g1").is_dir()
    assert not (c.tmp / other / "repo" / ".tutti" / "worktrees" / "g1").exists()
    second = c.tt("run", "gpu", "--json")  # a later run: straight to the placed host
    assert second.returncode == 0, second.stdout + second.stderr
    assert _ran_on(c, json.loads(second.stdout)["run_id"]) == {host: 2, other: 0}
    listed = json.loads(c.tt("host", "placements", "--json").stdout)
    assert [(r["agent"], r["host"], r["run_id"]) for r in listed] == [("g1", host, run1)]

    # the placed host goes away: one clear error naming the fix, after the placement timeout
    c.hosts[host].kill(signal.SIGKILL)
    began = time.monotonic()
    gone = c.tt("run", "gpu", "--json")
    assert gone.returncode != 0
    # the run-end reclaim does not wait on the dead host's queue for its 120 s close timeout
    assert time.monotonic() - began < 90, "the run was held by the dead host's run-end call"
    step = json.loads(c.tt("runs", "show", json.loads(gone.stdout)["run_id"], "--json").stdout)["steps"][0]
    assert step["status"] == "failed" and f"placed on host '{host}'" in step["message"], step
    assert "tt host unplace g1" in step["message"], step
    unplaced = c.tt("host", "unplace", "g1")
    assert unplaced.returncode == 0 and host in unplaced.stdout, unplaced.stdout + unplaced.stderr
    moved = c.tt("run", "gpu", "--json")  # re-placed on the host that is still there
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert _ran_on(c, json.loads(moved.stdout)["run_id"])[other] == 2
    assert [p[:2] for p in _placements(c)] == [("g1", other)]


def test_labels_no_host_has_fail_the_run_after_the_placement_timeout(labelled):
    res = labelled.tt("run", "tpu", "--json")
    assert res.returncode != 0
    run = json.loads(labelled.tt("runs", "show", json.loads(res.stdout)["run_id"], "--json").stdout)
    assert run["status"] == "failed", run
    message = run["steps"][0]["message"]
    assert "no host with labels [tpu] took agent 't1'" in message and "--label tpu" in message, message
    assert _placements(labelled) == []
