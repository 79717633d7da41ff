"""The context bar moves live: a watcher state event carries `context_used_pct` and the dashboard
repaints the station's bar and the open focus view's bar from it, with no page reload."""

from __future__ import annotations

import pytest

from serve.live import load, serving, write_workspace
from tutti.sessions import agent_state

pytestmark = pytest.mark.browser


@pytest.fixture
def ws(git_repo):
    w = load(write_workspace(git_repo))
    w.store.append_event("agent.idle", agent="planner", data={"to": "idle"})
    w.store.append_event("agent.idle", agent="builder", data={"to": "idle"})
    agent_state.update_state(w.state_dir, "builder", context_used_pct=12.0)
    return w


def _width(page, testid: str) -> str:
    return page.eval_on_selector(f'[data-testid="{testid}"]', "e => e.style.width")


def test_state_event_moves_station_and_focus_context_bars(page, ws, shot):
    with serving([ws]) as url:
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_selector('[data-testid="conn"][data-state="live"]')
        assert _width(page, "station-ctx-builder") == "12%"
        assert _width(page, "station-ctx-planner") in ("0", "0px")

        # the station bar, from the event alone (the state file still says 12%)
        ws.store.append_event("agent.working", agent="builder",
                              data={"from": "idle", "to": "working", "source": "watcher", "context_used_pct": 55.0})
        page.wait_for_function("document.querySelector('[data-testid=\"station-ctx-builder\"]').style.width === '55%'",
                               timeout=10000)
        assert page.get_attribute('[data-testid="station-ctx-builder"]', "data-level") == "green"

        # the focus view: its bar follows the next event, and the focus refresh that the event also
        # triggers (no live screen here: the agent is not running) keeps the event's reading
        page.click('[data-testid="station-planner"]')
        page.wait_for_selector('[data-testid="focus"]:not([hidden])')
        page.wait_for_function("document.querySelector('[data-testid=\"focus-ctx-label\"]').textContent === '—'")
        with page.expect_response(lambda r: "/planner/focus" in r.url, timeout=10000):
            ws.store.append_event("agent.idle", agent="planner",
                                  data={"from": "working", "to": "idle", "source": "watcher", "context_used_pct": 93.4})
        page.wait_for_function("document.querySelector('[data-testid=\"focus-ctx-label\"]').textContent === '93%'",
                               timeout=10000)
        assert _width(page, "focus-ctx") == "93.4%"
        assert page.get_attribute('[data-testid="focus-ctx"]', "data-level") == "red"
        assert _width(page, "station-ctx-planner") == "93.4%"
        assert _width(page, "station-ctx-builder") == "55%"  # another agent's event leaves it alone
        shot(page, "dashboard-context-live")
