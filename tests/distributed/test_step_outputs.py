"""Step outputs across hosts without a shared disk (real Temporal dev server, two simulated hosts,
each its own clone and `.tutti/`): an output made on h1 feeds a step on h2, whose output feeds a
step on the control — each machine reads its own copy, carried in the activities' payloads."""

from __future__ import annotations

import json

import pytest

from .conftest import SCRIPT
from .harness import query, running_cluster

pytestmark = [pytest.mark.temporal, pytest.mark.slow]

RELAY = (
    '[[workflow]]\nname = "relay"\n'
    '[[workflow.step]]\ntype = "command"\nid = "facts"\nagent = "a1"\nfail_mode = "closed"\n'
    'run = "printf \'{\\"answer\\": 42, \\"made_on\\": \\"h1\\"}\' > facts.json"\noutput_json = "facts.json"\n'
    '[[workflow.step]]\ntype = "command"\nid = "relay"\nagent = "a2"\nfail_mode = "closed"\ndepends_on = [1]\n'
    'run = "printf \'%s\' {{output.facts.json}} > relay.json"\noutput_json = "relay.json"\n'
    '[[workflow.step]]\ntype = "command"\nfail_mode = "closed"\ndepends_on = [2]\n'
    'run = "cp {{output.relay.path}} final.json"\n'
)


@pytest.fixture
def relay_cluster(git_repo, tmp_path):
    with running_cluster(git_repo, tmp_path, SCRIPT, config=lambda text: text + "\n" + RELAY) as c:
        yield c


def test_an_output_made_on_one_host_feeds_steps_on_another_host_and_the_control(relay_cluster):
    c = relay_cluster
    res = c.tt("run", "relay", "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    run_id = json.loads(res.stdout)["run_id"]
    expected = {"answer": 42, "made_on": "h1"}
    h1, h2 = c.tmp / "h1" / "repo", c.tmp / "h2" / "repo"
    assert json.loads((h1 / "facts.json").read_text()) == expected and not (h2 / "facts.json").exists()
    assert json.loads((h2 / "relay.json").read_text()) == expected  # h2 read h1's output
    assert json.loads((c.repo / "final.json").read_text()) == expected  # the control read h2's
    # each step ran where its agent lives
    assert query(c.host_db("h1"), "SELECT step_index FROM steps WHERE run_id = ?", (run_id,)) == [(1,)]
    assert query(c.host_db("h2"), "SELECT step_index FROM steps WHERE run_id = ?", (run_id,)) == [(2,)]
    # the control keeps its own copies, and records them (not the hosts' paths)
    control_dir = c.repo / ".tutti" / "state" / "workflow-outputs" / run_id
    recorded = query(c.repo / ".tutti" / "tutti.db", "SELECT step_index, json_extract(outcome, '$.outputs') "
                     "FROM steps WHERE run_id = ? ORDER BY step_index", (run_id,))
    for (_, outputs), output_id in zip(recorded, ("facts", "relay")):
        assert json.loads(outputs) == {output_id: str(control_dir / f"{output_id}.json")}, recorded
        assert json.loads((control_dir / f"{output_id}.json").read_text()) == expected
    # h2 got facts written into its own run dir before its step ran
    assert json.loads((h2 / ".tutti" / "state" / "workflow-outputs" / run_id / "facts.json").read_text()) == expected
