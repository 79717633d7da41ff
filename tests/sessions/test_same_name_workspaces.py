"""Two folders with the same `[workspace] name` (two clones of a repo with a committed
tutti.toml) share tmux session names. Each session records the root it was launched for, and
every command refuses to act on the other folder's agent instead of adopting it. Real tmux, real
git, the fake agent, `tt` as a subprocess."""

from __future__ import annotations

import json
import shutil

from tests.conftest import git
from tests.helpers import wait_until

from tutti.sessions.tmux import TmuxBackend
from tutti.supervisor.watcher import Watcher
from tutti.workspace import load_workspace_at


def _clone(repo, tmp_path):
    """A second folder with the same tutti.toml (its own records directory)."""
    other = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    (other / ".records").mkdir()
    shutil.copy(repo / ".records" / "script.toml", other / ".records" / "script.toml")
    text = (repo / "tutti.toml").read_text().replace(str(repo / ".records"), str(other / ".records"))
    (other / "tutti.toml").write_text(text)
    return other


def _received(root, agent="implementer"):
    path = root / ".records" / f"{agent}.jsonl"
    return path.read_text() if path.exists() else ""


def test_second_folder_refuses_the_first_folders_agent(fake_workspace, tmp_path, tt):
    first = fake_workspace([{"name": "implementer", "worktree": False}], name="app")
    second = _clone(first, tmp_path)
    up = tt("up", cwd=first)
    assert up.returncode == 0, up.stderr
    session = "tutti-app-implementer"
    wait_until(lambda: TmuxBackend().snapshot(session)[1])
    backend = TmuxBackend()
    assert backend.pane(session).root == str(first)  # @tutti_root, read with the pane
    env = backend._run("show-environment", "-t", f"={session}", "TUTTI_WORKSPACE_ROOT").stdout.strip()
    assert env == f"TUTTI_WORKSPACE_ROOT={first}"

    refused = tt("up", cwd=second)
    assert refused.returncode != 0 and "already running" not in refused.stdout
    assert str(first) in refused.stderr and str(second) in refused.stderr
    assert "[workspace] name" in refused.stderr and "Traceback" not in refused.stderr

    sent = tt("send", "implementer", "hello from the clone", cwd=second)
    assert sent.returncode != 0 and str(first) in sent.stderr
    assert "hello from the clone" not in _received(first)

    for args in (("peek", "implementer"), ("attach", "implementer"), ("down",)):
        res = tt(*args, cwd=second)
        assert res.returncode != 0 and str(first) in res.stderr, (args, res.stdout, res.stderr)
    assert TmuxBackend().exists(session), "tt down in the clone stopped the first folder's agent"

    status = tt("status", "--json", cwd=second)
    assert status.returncode == 0, status.stderr
    rows = json.loads(status.stdout)
    row = next(r for r in (rows if isinstance(rows, list) else rows["agents"]) if r["agent"] == "implementer")
    assert row["state"] == "stopped" and row["running"] is False
    assert f"session belongs to {first}" in row["evidence"]

    # The clone's watcher leaves the agent alone; the owner's watches it.
    clone_watcher = Watcher(load_workspace_at(second), recover=False, write_logs=False)
    clone_watcher.rescan()
    assert clone_watcher.panes == {}
    owner_watcher = Watcher(load_workspace_at(first), recover=False, write_logs=False)
    owner_watcher.rescan()
    try:
        assert list(owner_watcher.panes) == ["implementer"]
    finally:
        for pane in owner_watcher.panes.values():
            pane.client.stop()

    # The owner still drives its own agent.
    assert tt("send", "implementer", "hello from the owner", cwd=first).returncode == 0
    assert "hello from the owner" in _received(first)
    assert tt("down", cwd=first).returncode == 0
    assert not TmuxBackend().exists(session)
