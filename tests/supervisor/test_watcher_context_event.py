"""The watcher's state events carry the context reading it writes to the agent's state file, so the
dashboard and `tt watch` can move their context bars from the event stream alone."""

from __future__ import annotations

import threading

from tests.helpers import wait_until

from tutti.ops.agents import up
from tutti.sessions import agent_state
from tutti.sessions.tmux import TmuxBackend
from tutti.supervisor.watcher import Watcher
from tutti.workspace import load_workspace_at


def test_state_events_carry_context_used_pct(fake_workspace):
    # The codex look prints "N% left": after a turn some context is used.
    root = fake_workspace([{"name": "a"}], script='look = "codex"\nwork_secs = 0.5\nreply = "Done."\n')
    ws = load_workspace_at(root)
    up(ws, start_watcher=False)
    stop = threading.Event()
    thread = threading.Thread(target=Watcher(ws).run, args=(stop,), kwargs={"exit_when_empty": False}, daemon=True)
    thread.start()
    try:
        idle = lambda: [e for e in ws.store.read_events(agent="a") if e.kind == "agent.idle"]  # noqa: E731
        wait_until(lambda: idle(), what="first idle")
        assert idle()[0].data["context_used_pct"] == 0.0  # "100% left"
        TmuxBackend().send_text(ws.session_name("a"), "do some work", submit_delay=0.5)
        wait_until(lambda: len(idle()) >= 2, what="idle after the turn")
        last = idle()[-1]
        assert last.data["context_used_pct"] > 0
        wait_until(lambda: agent_state.read_state(ws.state_dir, "a").get("context_used_pct")
                   == last.data["context_used_pct"], what="state file matches the event")
        working = next(e for e in ws.store.read_events(agent="a") if e.kind == "agent.working")
        assert "context_used_pct" in working.data
    finally:
        stop.set()
        thread.join(timeout=10)
