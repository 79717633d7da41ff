"""The control-mode watcher turns pane output into state-change events in the store."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from tests.helpers import wait_until

from tutti.ops.agents import up
from tutti.ops.supervisor_process import running_pid
from tutti.sessions import agent_state
from tutti.sessions.tmux import TmuxBackend
from tutti.supervisor.watcher import Watcher
from tutti.workspace import load_workspace_at

SCRIPT = """
work_secs = 0.8
reply = "Done."

[[rule]]
match = "log me in"
fail = "auth"

[[rule]]
match = "die now"
fail = "crash"
exit_code = 3
"""


def kinds(ws, agent="a"):
    return [e.kind for e in ws.store.read_events(agent=agent)]


@pytest.fixture
def watched(fake_workspace):
    root = fake_workspace([{"name": "a"}], script=SCRIPT)
    ws = load_workspace_at(root)
    up(ws, start_watcher=False)
    watcher = Watcher(ws)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), kwargs={"exit_when_empty": False}, daemon=True)
    thread.start()
    wait_until(lambda: "agent.idle" in kinds(ws))
    yield ws, watcher
    stop.set()
    thread.join(timeout=10)


def test_startup_is_reported_as_idle_once_the_agent_is_ready(watched):
    ws, _ = watched
    assert kinds(ws) == ["agent.started", "agent.idle"]
    assert agent_state.read_state(ws.state_dir, "a")["status"] == "Idle"


def test_a_prompt_produces_working_then_idle_with_evidence(watched):
    ws, _ = watched
    TmuxBackend().send_text(ws.session_name("a"), "hello there", submit_delay=0.1)
    wait_until(lambda: kinds(ws)[-2:] == ["agent.working", "agent.idle"])
    working = next(e for e in ws.store.read_events(agent="a") if e.kind == "agent.working")
    assert working.data["from"] == "idle" and working.data["to"] == "working"
    assert working.data["source"] == "watcher" and working.data["evidence"]
    log = ws.tutti_dir / "logs" / "a.log"
    wait_until(lambda: log.exists() and "Done." in log.read_text())
    assert "hello there" in log.read_text()


def test_an_auth_failure_is_one_auth_failed_event(watched):
    ws, _ = watched
    TmuxBackend().send_text(ws.session_name("a"), "please log me in", submit_delay=0.1)
    wait_until(lambda: "agent.auth_failed" in kinds(ws))
    time.sleep(1.0)
    assert kinds(ws).count("agent.auth_failed") == 1
    state = agent_state.read_state(ws.state_dir, "a")
    assert state["state"] == "auth_failed" and state["status"].startswith("Auth Failed")


def test_a_crash_is_reported_as_stopped(watched):
    ws, _ = watched
    TmuxBackend().send_text(ws.session_name("a"), "die now", submit_delay=0.1)
    wait_until(lambda: "agent.stopped" in kinds(ws))
    event = [e for e in ws.store.read_events(agent="a") if e.kind == "agent.stopped"][-1]
    assert "session:pane_dead" in event.data["evidence"]


def test_an_idle_agent_costs_no_captures(watched):
    _ws, watcher = watched
    time.sleep(1.0)  # let the startup settle
    before = watcher.classifications
    time.sleep(2.5)
    assert watcher.classifications == before


def test_background_watcher_exits_when_the_last_session_ends(fake_workspace):
    root = fake_workspace([{"name": "a"}], script=SCRIPT)
    ws = load_workspace_at(root)
    result = up(ws)
    pid = result.watcher_pid
    assert pid and wait_until(lambda: running_pid(ws.root) == pid)
    try:
        wait_until(lambda: "agent.idle" in kinds(ws))
        TmuxBackend().kill(ws.session_name("a"))  # killed behind Tutti's back
        wait_until(lambda: "agent.stopped" in kinds(ws))
        wait_until(lambda: running_pid(ws.root) is None, timeout=30)
        assert not (ws.state_dir / "watcher.pid").exists()
    finally:
        if running_pid(ws.root):
            os.kill(pid, signal.SIGTERM)


def test_only_one_watcher_per_workspace_emits_events(fake_workspace):
    from tutti.supervisor.watcher import try_lock

    ws = load_workspace_at(fake_workspace([{"name": "a"}], script=SCRIPT))
    held = try_lock(ws)
    try:
        assert Watcher(ws).run(threading.Event()) is False  # returns at once, watches nothing
    finally:
        held.close()


def test_an_agent_added_to_tutti_toml_while_watching_is_picked_up(watched):
    ws, _ = watched
    toml = ws.config_path
    text = toml.read_text()
    agent_a = text[text.index("[[agent]]"):]
    toml.write_text(text + "\n" + agent_a.replace('name = "a"', 'name = "b"').replace("a.jsonl", "b.jsonl"))
    time.sleep(0.05)
    os.utime(toml)  # make sure the mtime moves even on coarse-timestamp filesystems
    up(load_workspace_at(ws.root), "b", start_watcher=False)
    wait_until(lambda: "agent.idle" in kinds(ws, "b"))


def test_watch_forever_takes_over_when_the_lock_is_released(fake_workspace):
    from tutti.supervisor.watcher import try_lock, watch_forever

    ws = load_workspace_at(fake_workspace([{"name": "a"}], script=SCRIPT))
    held = try_lock(ws)
    stop = threading.Event()
    thread = threading.Thread(target=watch_forever, args=(ws, stop), kwargs={"retry_secs": 0.2}, daemon=True)
    thread.start()
    try:
        up(ws, start_watcher=False)
        time.sleep(1.0)
        assert "agent.idle" not in kinds(ws)  # another watcher "owns" the workspace
        held.close()
        wait_until(lambda: "agent.idle" in kinds(ws))
    finally:
        stop.set()
        thread.join(timeout=10)


def test_auto_handoff_when_a_finished_turn_crosses_the_context_threshold(fake_workspace):
    # The codex look shows "N% left"; threshold 0.99 triggers at >= 1% used.
    root = fake_workspace([{"name": "a"}], script='look = "codex"\nwork_secs = 0.5\nreply = "Done."\n')
    with open(root / "tutti.toml", "a") as fh:
        fh.write("\n[handoff]\nauto = true\nthreshold = 0.99\n")
    ws = load_workspace_at(root)
    up(ws, start_watcher=False)
    stop = threading.Event()
    thread = threading.Thread(target=Watcher(ws).run, args=(stop,), kwargs={"exit_when_empty": False}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: "agent.idle" in kinds(ws))
        assert "handoff.generated" not in [e.kind for e in ws.store.read_events()]  # 100% left: nothing used
        TmuxBackend().send_text(ws.session_name("a"), "do some work", submit_delay=0.5)
        wait_until(lambda: "handoff.generated" in [e.kind for e in ws.store.read_events()], what="auto handoff")
        event = next(e for e in ws.store.read_events() if e.kind == "handoff.generated")
        assert event.agent == "a" and event.data["reason"] == "auto_ctx_threshold"
        assert list((ws.tutti_dir / "handoffs").glob("a-handoff-*.md"))
    finally:
        stop.set()
        thread.join(timeout=10)
