"""`tt serve` watches agent sessions itself: a prompt sent through the API to a real fake agent
in tmux shows up as agent.working / agent.idle events on the SSE stream."""

from __future__ import annotations

import time

import httpx
import pytest

from .live import SSEReader, load, serving


@pytest.mark.slow
def test_served_watcher_streams_state_of_a_real_agent(fake_workspace):
    from tutti.ops.agents import up

    root = fake_workspace([{"name": "solo", "worktree": False}], script='work_secs = 1.5\nreply = "ok"\n')
    ws = load(root)
    up(ws, start_watcher=False)  # no background watcher: only the server's thread watches
    with serving([ws], watch=True) as url:
        with httpx.stream("GET", url + "/v1/events/stream", params={"kinds": "agent.working,agent.idle"},
                          timeout=httpx.Timeout(60.0)) as r:
            reader = SSEReader(r)
            time.sleep(1.0)  # the watcher thread attaches to the session
            sent = httpx.post(url + "/v1/actions/send", json={"agent": "solo", "prompt": "count to three"},
                              timeout=60)
            assert sent.status_code == 200, sent.text
            kinds = []
            deadline = time.monotonic() + 45
            while kinds[-2:] != ["agent.working", "agent.idle"]:
                assert time.monotonic() < deadline, kinds
                frame = reader.next_event()
                if frame["json"]["agent"] == "solo":
                    kinds.append(frame["event"])
    assert "agent.working" in kinds


def test_server_runs_the_scheduler_for_scheduled_workflows(git_repo, tmux_socket):
    from .live import write_workspace

    extra = '\n[[workflow]]\nname = "nightly"\nschedule = "0 3 * * *"\n\n[[workflow.step]]\ntype = "command"\nrun = "true"\n'
    ws = load(write_workspace(git_repo, extra=extra))
    with serving([ws], watch=True):
        deadline = time.monotonic() + 30
        while not ws.store.read_events(0, kinds=["schedule.started"]):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    (event,) = ws.store.read_events(0, kinds=["schedule.started"])
    assert event.data["workflows"] == ["nightly"]
