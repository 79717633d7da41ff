"""The SDK-free parts of #16's host features (default suite, no Temporal server): host_labels
validation and schema, the label queues a host polls, `tt host` argument errors, placements in
the store, the outputs payload, and the clone checks of `tt host --repo` with real git."""

from __future__ import annotations

import json
import subprocess

import pytest

from tutti.config.models import TuttiConfig
from tutti.distributed import placement, repo_sync, step_outputs

TEMPORAL = '[engine]\nkind = "temporal"\n'


def _write(repo, engine: str, agents: str) -> None:
    (repo / "tutti.toml").write_text(f'[workspace]\nname = "e"\n\n{engine}\n{agents}\n'
                                     '[[workflow]]\nname = "w"\n[[workflow.step]]\ntype = "command"\nrun = "true"\n')


@pytest.mark.parametrize(("engine", "labels", "words"), [
    (TEMPORAL, 'host = "h1"\nhost_labels = ["gpu"]', "both host and host_labels"),
    (TEMPORAL, "host_labels = []", "host_labels is empty"),
    (TEMPORAL, 'host_labels = ["gpu", ""]', "plain non-empty name"),
    (TEMPORAL, 'host_labels = ["g+pu"]', "plain non-empty name"),
    ("", 'host_labels = ["gpu"]', "kind is 'local'"),
    (TEMPORAL + "placement_timeout_secs = 0\n", 'host_labels = ["gpu"]', "placement_timeout_secs"),
])
def test_host_labels_are_validated_with_key_paths(git_repo, tt, engine, labels, words):
    _write(git_repo, engine, f'[[agent]]\nname = "a"\nruntime = "fake"\n{labels}\n')
    res = tt("run", "--list", cwd=git_repo)
    assert res.returncode != 0 and words in res.stderr, res.stderr
    assert ("engine → placement_timeout_secs" if "placement" in words else "agent 'a' → host_labels") in res.stderr
    assert "Traceback" not in res.stderr


def test_host_labels_are_in_the_schema(tt, tmp_path):
    schema = json.loads(tt("schema", cwd=tmp_path).stdout)
    assert "host_labels" in schema["$defs"]["Agent"]["properties"]
    assert "placement_timeout_secs" in schema["$defs"]["EngineTable"]["properties"]


def test_a_host_polls_one_queue_per_label_set_it_wholly_has():
    config = TuttiConfig.model_validate({"workspace": {"name": "e"},
        "engine": {"kind": "temporal", "task_queue_prefix": "p"},
        "agent": [{"name": "a", "runtime": "fake", "host_labels": ["linux", "gpu"]},
                  {"name": "b", "runtime": "fake", "host_labels": ["gpu"]},
                  {"name": "c", "runtime": "fake", "host_labels": ["gpu", "gpu", "linux"]},
                  {"name": "d", "runtime": "fake", "host_labels": ["tpu"]}]})
    assert placement.served_label_queues(config, ["gpu", "linux", "arm"]) == ["p.label.gpu", "p.label.gpu+linux"]
    assert placement.served_label_queues(config, ["gpu"]) == ["p.label.gpu"]
    assert placement.served_label_queues(config, ["arm"]) == []


def test_tt_host_argument_errors_are_one_line(git_repo, tt):
    _write(git_repo, TEMPORAL, '[[agent]]\nname = "a"\nruntime = "fake"\nhost_labels = ["gpu"]\n')
    for args, words in ((["host", "--control", "--label", "gpu"], "--label needs --name"),
                        (["host", "--name", "h", "--label", "g pu"], "plain name"),
                        (["host", "--name", "h", "--repo", "/nowhere.git"], "--repo needs --root"),
                        (["host", "unplace", "a"], "not placed")):
        res = tt(*args, cwd=git_repo)
        assert res.returncode != 0 and words in res.stderr and "Traceback" not in res.stderr, (args, res.stderr)
    assert json.loads(tt("host", "placements", "--json", cwd=git_repo).stdout) == []


def test_placements_first_one_wins_and_unplace_forgets(git_repo):
    from tutti.workspace import load_workspace_at

    _write(git_repo, TEMPORAL, '[[agent]]\nname = "a"\nruntime = "fake"\nhost_labels = ["gpu"]\n')
    ws = load_workspace_at(git_repo)
    with ws.store.transaction() as conn:
        assert placement.record(conn, "a", "h1", ["gpu"], "r1") == "h1"
        assert placement.record(conn, "a", "h2", ["gpu"], "r2") == "h1"  # a racing run gets the recorded host
    assert placement.all_placements(ws.store) == {"a": "h1"}
    assert placement.unplace(ws.store, "a")["host"] == "h1"
    assert placement.all_placements(ws.store) == {}


def test_outputs_travel_as_content_capped_and_never_outside_the_run_dir(tmp_path):
    made = tmp_path / "host" / "facts.json"
    made.parent.mkdir()
    made.write_text('{"answer": 42}')
    big = tmp_path / "host" / "big.json"
    big.write_text("x" * (step_outputs.FILE_CAP + 1))
    packed = step_outputs.pack({"facts": str(made), "big": str(big), "gone": str(tmp_path / "nope.json")})
    assert set(packed) == {"facts", "big"} and packed["big"] == {"name": "big.json", "too_large": step_outputs.FILE_CAP + 1}
    packed["evil"] = {**packed["facts"], "name": "../../escape.json"}
    run_dir = tmp_path / "control" / "run"
    outcome = {"status": "success", "outputs": {"facts": str(made), "big": str(big)}}
    step_outputs.land_on_control(run_dir, outcome, packed)
    assert outcome["outputs"]["facts"] == str(run_dir / "facts.json")
    assert json.loads((run_dir / "facts.json").read_text()) == {"answer": 42}
    assert (run_dir / "escape.json").exists() and not (tmp_path / "escape.json").exists()
    assert "big" in outcome["side_effects"]["outputs_not_carried"]


def test_host_clone_is_made_once_and_must_be_of_the_same_remote(git_repo, tmp_path):
    clone = tmp_path / "host" / "clone"
    assert repo_sync.clone_if_missing(str(git_repo), clone) is True
    assert (clone / "README.md").exists()
    assert repo_sync.clone_if_missing(str(git_repo), clone) is False
    repo_sync.check_remote(clone, str(git_repo))
    with pytest.raises(repo_sync.RepoSyncError, match="is a clone of"):
        repo_sync.check_remote(clone, "/some/other.git")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file").write_text("x")
    with pytest.raises(repo_sync.RepoSyncError, match="not empty"):
        repo_sync.clone_if_missing(str(git_repo), tmp_path / "junk")
    # a branch the agent committed to is pushed once, then known to be on the remote
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(git_repo), str(bare)], check=True)
    subprocess.run(["git", "-C", str(clone), "remote", "set-url", "origin", str(bare)], check=True)
    subprocess.run(["git", "-C", str(clone), "branch", "tutti/a"], check=True)
    host = repo_sync.HostRepo(clone)
    assert host.push_if_ahead("tutti/a")["branch_pushed"]["branch"] == "tutti/a"
    assert host.push_if_ahead("tutti/a") == {}
    assert host.before_run_step("r1")["repo_fetched"] is True and host.before_run_step("r1") == {}


def test_landing_a_hosted_agent_needs_no_local_worktree_but_its_fetched_branch(git_repo):
    from tutti.errors import RoutingError
    from tutti.gates.land import land_agent
    from tutti.workspace import load_workspace_at

    _write(git_repo, TEMPORAL, '[[agent]]\nname = "a"\nruntime = "fake"\nhost = "h1"\n')
    (git_repo / ".git" / "info" / "exclude").write_text("tutti.toml\n.tutti/\n")
    ws = load_workspace_at(git_repo)
    with pytest.raises(RoutingError, match="does not exist here") as err:
        land_agent(ws, "a")
    assert "--repo URL" in (err.value.hint or "")
    # the branch as a fetch from the remote leaves it: one commit ahead of main, no worktree here
    subprocess.run(["git", "-C", str(git_repo), "checkout", "-q", "-b", "tutti/a"], check=True)
    (git_repo / "feature.txt").write_text("from the host\n")
    subprocess.run(["git", "-C", str(git_repo), "add", "feature.txt"], check=True)
    subprocess.run(["git", "-C", str(git_repo), "commit", "-q", "-m", "add feature"], check=True)
    subprocess.run(["git", "-C", str(git_repo), "checkout", "-q", "main"], check=True)
    result = land_agent(ws, "a")
    assert [c.split(" ", 1)[1] for c in result.commits] == ["add feature"] and result.wip_commit is None
    assert (git_repo / "feature.txt").exists()
