"""`tt status` reads every session's pane and screen in two tmux calls (`TmuxBackend.snapshots`)
instead of three calls per agent: the rows must be exactly those of the one-agent-at-a-time path."""

from __future__ import annotations

import subprocess

from tests.helpers import wait_until

from tutti.ops import agents
from tutti.sessions.tmux import TmuxBackend
from tutti.workspace import load_workspace_at


class OneAtATime(TmuxBackend):
    """The backend without the batched read: `ops.agents.status` falls back to per-agent calls."""

    snapshots = None


def _rows(ws, backend):
    return [r.to_dict() for r in agents.status(ws, backend=backend)]


def test_batched_status_equals_the_per_agent_status(fake_workspace):
    # idle (with the fake agent's structured state file), dead pane, never started
    ws = load_workspace_at(fake_workspace([{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}],
                                          env={"TUTTI_FAKE_STATE_FILE": "1"}))
    agents.up(ws, "a", start_watcher=False)
    agents.up(ws, "b", start_watcher=False)
    agents.up(ws, "c", start_watcher=False)
    backend = TmuxBackend()
    subprocess.run(["kill", "-9", str(backend.pane(ws.session_name("c")).pid)], check=True)
    wait_until(lambda: backend.pane(ws.session_name("c")).dead)
    wait_until(lambda: [r["state"] for r in _rows(ws, OneAtATime())] == ["idle", "idle", "stopped", "stopped"])
    batched, single = _rows(ws, backend), _rows(ws, OneAtATime())
    assert batched == single
    assert batched[0]["evidence"][0] == "state_file:idle"  # the structured signal found the pane's process
    by = {r["agent"]: r for r in batched}
    assert by["c"]["running"] is False and "session:pane_dead" in by["c"]["evidence"]
    assert by["d"]["evidence"] == ["session:absent"]


def test_snapshots_match_snapshot_per_session(fake_workspace):
    ws = load_workspace_at(fake_workspace([{"name": "a"}, {"name": "b"}]))
    agents.up(ws, start_watcher=False)
    backend = TmuxBackend()
    names = [ws.session_name("a"), "no-such-session", ws.session_name("b")]
    wait_until(lambda: all(backend.snapshot(n)[1] for n in names if n != "no-such-session"))
    many = backend.snapshots(names)
    assert set(many) == set(names)
    assert many["no-such-session"] == (None, "")
    for name in (ws.session_name("a"), ws.session_name("b")):
        assert many[name] == backend.snapshot(name)
