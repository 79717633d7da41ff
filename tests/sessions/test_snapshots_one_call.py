"""`TmuxBackend.snapshots` (`tt status`) reads every pane and screen in ONE tmux call when all
the sessions exist, and in two when some do not (tmux stops a command chain at the first
failure); either way each result equals the per-session `snapshot`. Real tmux, fake agents."""

from __future__ import annotations

from tests.helpers import wait_until

from tutti.ops import agents
from tutti.sessions.tmux import TmuxBackend
from tutti.workspace import load_workspace_at


class Counting(TmuxBackend):
    """The real backend, counting the tmux processes it starts."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def _run(self, *args, **kwargs):
        self.calls += 1
        return super()._run(*args, **kwargs)


def test_one_call_when_all_run_two_when_some_do_not(fake_workspace):
    ws = load_workspace_at(fake_workspace([{"name": "a"}, {"name": "b"}]))
    agents.up(ws, start_watcher=False)
    names = [ws.session_name("a"), ws.session_name("b")]
    plain = TmuxBackend()
    wait_until(lambda: all(plain.snapshot(n)[1] for n in names))
    backend = Counting()
    many = backend.snapshots(names)
    assert backend.calls == 1
    assert many == {n: plain.snapshot(n) for n in names} and all(many[n][0] is not None for n in names)
    backend.calls = 0
    mixed = backend.snapshots([names[0], "no-such-session", names[1]])
    assert backend.calls == 2
    assert mixed == {names[0]: many[names[0]], "no-such-session": (None, ""), names[1]: many[names[1]]}


def test_no_server_is_every_session_absent(tmux_socket):
    backend = Counting()
    assert backend.snapshots(["x", "y"]) == {"x": (None, ""), "y": (None, "")}
    assert backend.calls == 1
