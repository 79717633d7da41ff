"""The dashboard in headless Chromium against a real server: stations, live colours from SSE,
dispatch with live progress, focus mode over a real fake agent in tmux, mobile layout, login."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from serve.live import load, serving, write_workspace

pytestmark = pytest.mark.browser

WORKING_RGB = "rgb(34, 197, 94)"
BLOCKED_RGB = "rgb(239, 68, 68)"

# Records, in the page, when each station's colour attribute changes (performance clock → epoch ms).
OBSERVE_COLOURS = """
() => {
  window.__colourChanges = [];
  const obs = new MutationObserver((muts) => {
    for (const m of muts) {
      if (m.attributeName === 'data-color') window.__colourChanges.push(
        {agent: m.target.dataset.agent, color: m.target.dataset.color, at: performance.timeOrigin + performance.now()});
    }
  });
  document.querySelectorAll('.station').forEach((s) => obs.observe(s, {attributes: true}));
}
"""


def epoch_ms(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000


def open_dashboard(page, url: str) -> None:
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector('[data-testid="conn"][data-state="live"]')


def border_colour(page, agent: str) -> str:
    return page.eval_on_selector(f'[data-testid="station-{agent}"]', "e => getComputedStyle(e).borderLeftColor")


@pytest.fixture
def store_workspace(git_repo):
    extra = '\n[[agent]]\nname = "reviewer"\nruntime = "fake"\n'
    return load(write_workspace(git_repo, extra=extra))


def test_page_shows_one_station_per_agent(page, store_workspace, shot):
    with serving([store_workspace]) as url:
        open_dashboard(page, url)
        stations = page.locator(".station")
        assert stations.count() == 3
        assert [stations.nth(i).get_attribute("data-agent") for i in range(3)] == ["planner", "builder", "reviewer"]
        assert page.locator('[data-testid="dispatch-run-check"]').is_visible()
        shot(page, "dashboard-floor")


def test_state_event_recolours_station_within_a_second(page, store_workspace, shot):
    with serving([store_workspace]) as url:
        open_dashboard(page, url)
        page.evaluate(OBSERVE_COLOURS)
        assert page.get_attribute('[data-testid="station-builder"]', "data-color") == "idle"
        event = store_workspace.store.append_event("agent.working", agent="builder", data={"source": "test"})
        page.wait_for_selector('[data-testid="station-builder"][data-color="working"]', timeout=5000)
        change = page.evaluate("window.__colourChanges")[-1]
        assert change["agent"] == "builder" and change["color"] == "working"
        assert change["at"] - epoch_ms(event.ts) < 1000
        page.wait_for_function(f"getComputedStyle(document.querySelector('[data-testid=\"station-builder\"]'))"
                               f".borderLeftColor === '{WORKING_RGB}'")
        store_workspace.store.append_event("agent.auth_failed", agent="planner")
        page.wait_for_selector('[data-testid="station-planner"][data-color="blocked"]', timeout=5000)
        assert page.text_content('[data-testid="hud-blocked"]') == "1"
        assert page.text_content('[data-testid="hud-working"]') == "1"
        time.sleep(0.4)  # let the colour transition finish for the screenshot
        assert border_colour(page, "planner") == BLOCKED_RGB
        shot(page, "dashboard-states")


def test_workflow_dispatched_from_panel_shows_progress(page, git_repo, shot):
    extra = """
[[workflow]]
name = "pipeline"
description = "three timed stages"

[[workflow.step]]
id = "build"
type = "command"
run = "sleep 1"

[[workflow.step]]
id = "unit-tests"
type = "command"
run = "sleep 1.5"

[[workflow.step]]
id = "package"
type = "command"
run = "true"
"""
    ws = load(write_workspace(git_repo, extra=extra))
    with serving([ws]) as url:
        open_dashboard(page, url)
        page.click('[data-testid="dispatch-run-pipeline"]')
        run_id = ws.store.query("SELECT run_id FROM runs")[0]["run_id"] if ws.store.query(
            "SELECT run_id FROM runs") else None
        deadline = time.monotonic() + 20
        while run_id is None and time.monotonic() < deadline:
            time.sleep(0.05)
            rows = ws.store.query("SELECT run_id FROM runs")
            run_id = rows[0]["run_id"] if rows else None
        assert run_id
        # Stages come from the workflow's steps; the work-item dot travels through them.
        page.wait_for_selector(f'[data-testid="stage-{run_id}-2"][data-status="running"]')
        assert page.locator(f'[data-testid="pipeline-{run_id}"] .stage').all_text_contents() == \
            ["build", "unit-tests", "package"]
        assert page.locator(f'[data-testid="stage-{run_id}-2"] [data-testid="run-dot-{run_id}"]').count() == 1
        assert page.get_attribute(f'[data-testid="stage-{run_id}-1"]', "data-status") == "completed"
        assert "pipeline: unit-tests" in page.text_content('[data-testid="hud-stage"]')
        shot(page, "dashboard-run-progress")
        page.wait_for_selector(f'[data-testid="run-status-{run_id}"]:text("completed")', timeout=30000)
        assert page.text_content(f'[data-testid="run-progress-{run_id}"]').startswith("3/3 steps")


def test_focus_mode_shows_terminal_and_prompt_arrives_in_tmux(page, fake_workspace, shot):
    from tutti.ops.agents import up

    root = fake_workspace([{"name": "planner", "worktree": False}, {"name": "builder", "worktree": False}],
                          script='work_secs = 2\nreply = "All done."\n')
    with (root / "tutti.toml").open("a") as fh:
        fh.write("\n[observe]\ndashboard = true\n")
    ws = load(root)
    up(ws)
    with serving([ws]) as url:
        open_dashboard(page, url)
        page.evaluate(OBSERVE_COLOURS)
        page.click('[data-testid="station-planner"]')
        page.wait_for_selector('[data-testid="focus"]:not([hidden])')
        page.wait_for_function("document.querySelector('[data-testid=\"focus-terminal\"]').textContent.trim().length > 20"
                               " && !document.querySelector('[data-testid=\"focus-terminal\"]').textContent.startsWith('(')")
        page.fill('[data-testid="focus-prompt"]', "please refactor the parser")
        page.click('[data-testid="focus-send"]')
        records = root / ".records" / "planner.jsonl"
        deadline = time.monotonic() + 30
        while not (records.exists() and "please refactor the parser" in records.read_text()):
            assert time.monotonic() < deadline, "prompt never reached the agent in tmux"
            time.sleep(0.1)
        assert json.loads(records.read_text().splitlines()[-1])["prompt"].strip() == "please refactor the parser"
        # The watcher sees the agent work; its event recolours the station within a second.
        page.wait_for_selector('[data-testid="station-planner"][data-color="working"]', timeout=20000)
        (event,) = ws.store.read_events(0, kinds=["agent.working"], agent="planner")[-1:]
        change = next(c for c in page.evaluate("window.__colourChanges")
                      if c["agent"] == "planner" and c["color"] == "working")
        assert change["at"] - epoch_ms(event.ts) < 1000
        page.wait_for_function("document.querySelector('[data-testid=\"focus-terminal\"]').textContent"
                               ".includes('please refactor the parser')", timeout=20000)
        shot(page, "dashboard-focus")
        page.wait_for_selector('[data-testid="station-planner"][data-color="idle"]', timeout=30000)


def test_mobile_layout_is_one_column_with_tabs(browser, store_workspace, shot):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        with serving([store_workspace]) as url:
            open_dashboard(page, url)
            assert page.locator('[data-testid="tabs"]').is_visible()
            assert page.locator('[data-testid="floor"]').is_visible()
            assert not page.locator('[data-panel="timeline"]').is_visible()
            page.click('[data-testid="tab-timeline"]')
            assert page.locator('[data-panel="timeline"]').is_visible()
            assert not page.locator('[data-testid="floor"]').is_visible()
            widths = page.evaluate("[...document.querySelectorAll('.panel')].map(p => p.getBoundingClientRect().width)")
            assert max(widths) <= 390
            page.click('[data-testid="tab-floor"]')
            shot(page, "dashboard-mobile")
    finally:
        context.close()


def test_dashboard_works_with_auth_after_login(page, store_workspace):
    token = "b" * 64
    with serving([store_workspace], token=token) as url:
        page.goto(url + "/")
        page.wait_for_selector('[data-testid="login-token"]')
        page.fill('[data-testid="login-token"]', token)
        page.click('[data-testid="login-submit"]')
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_selector('[data-testid="conn"][data-state="live"]')
        store_workspace.store.append_event("agent.working", agent="planner")
        page.wait_for_selector('[data-testid="station-planner"][data-color="working"]', timeout=5000)


def test_reduced_motion_disables_pulse(browser, store_workspace):
    context = browser.new_context(reduced_motion="reduce")
    page = context.new_page()
    try:
        with serving([store_workspace]) as url:
            open_dashboard(page, url)
            store_workspace.store.append_event("agent.working", agent="planner")
            page.wait_for_selector('[data-testid="station-planner"][data-color="working"]')
            name = page.eval_on_selector('[data-testid="station-planner"] .lamp', "e => getComputedStyle(e).animationName")
            assert name == "none"
    finally:
        context.close()


def test_hud_counts_agents_and_approvals_waiting_on_a_human(page, store_workspace):
    with serving([store_workspace]) as url:
        open_dashboard(page, url)
        store = store_workspace.store
        store.append_event("agent.waiting", agent="builder")
        store.append_event("direct.approval.requested", agent="planner", run_id="r1", data={"approval_id": "ap-1"})
        page.wait_for_function("document.querySelector('[data-testid=\"hud-waiting\"]').textContent === '2'")
        store.append_event("direct.approval.decided", agent="planner", run_id="r1", data={"approval_id": "ap-1"})
        page.wait_for_function("document.querySelector('[data-testid=\"hud-waiting\"]').textContent === '1'")
        assert page.text_content('[data-testid="hud-blocked"]') == "1"  # waiting counts as blocked


def test_page_opened_mid_run_shows_real_step_status(page, git_repo):
    extra = """
[[workflow]]
name = "long"

[[workflow.step]]
id = "prepare"
type = "command"
run = "true"

[[workflow.step]]
id = "soak"
type = "command"
run = "sleep 30"
"""
    ws = load(write_workspace(git_repo, extra=extra))
    from tutti.ops.run import cancel_run, start_run

    run_id = start_run(ws, "long")
    deadline = time.monotonic() + 20
    while not ws.store.read_events(0, kinds=["workflow.step.started"], run_id=run_id)[1:]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # Bury the run's own events under newer ones so the page's event backlog cannot see them.
    with ws.store.transaction() as conn:
        for i in range(400):
            ws.store.append_event("agent.idle", agent="planner", data={"i": i}, conn=conn)
    with serving([ws]) as url:
        try:
            open_dashboard(page, url)
            page.wait_for_selector(f'[data-testid="stage-{run_id}-2"][data-status="running"]')
            assert page.get_attribute(f'[data-testid="stage-{run_id}-1"]', "data-status") == "completed"
            assert page.locator(f'[data-testid="pipeline-{run_id}"] .stage').all_text_contents() == ["prepare", "soak"]
        finally:
            cancel_run(ws, run_id)


def test_start_button_launches_a_stopped_agent(page, fake_workspace):
    root = fake_workspace([{"name": "idler", "worktree": False}], script='work_secs = 0.3\nreply = "ok"\n')
    with (root / "tutti.toml").open("a") as fh:
        fh.write("\n[observe]\ndashboard = true\n")
    ws = load(root)
    with serving([ws]) as url:
        open_dashboard(page, url)
        page.click('[data-testid="station-idler"]')
        start = page.locator('[data-testid="focus-start"]')
        start.wait_for(state="visible")
        start.click()
        page.wait_for_function("document.querySelector('[data-testid=\"focus-note\"]').textContent === 'started'",
                               timeout=60000)
        page.wait_for_function("document.querySelector('[data-testid=\"focus-terminal\"]').textContent"
                               ".includes('fake agent')", timeout=30000)
        assert not start.is_visible()
    from tutti.ops.agents import status

    (row,) = [r for r in status(ws) if r.agent == "idler"]
    assert row.running


def test_workspace_selector_switches_floors(page, tmp_path):
    one = load(write_workspace(tmp_path / "one", "one"))
    two = load(write_workspace(tmp_path / "two", "two",
                               extra='\n[[agent]]\nname = "extra"\nruntime = "fake"\n'))
    with serving([one, two]) as url:
        open_dashboard(page, url)
        assert page.locator(".station").count() == 2
        page.select_option('[data-testid="workspace-select"]', "two")
        page.wait_for_selector('[data-testid="station-extra"]')
        assert page.locator(".station").count() == 3
        two.store.append_event("agent.working", agent="extra")
        page.wait_for_selector('[data-testid="station-extra"][data-color="working"]', timeout=5000)


def test_approval_waiting_on_a_human_is_decided_from_the_dashboard(page, store_workspace, shot):
    from tutti.direct.approvals import request
    from tutti.direct.policy import ApprovalRequest

    with serving([store_workspace]) as url:
        open_dashboard(page, url)
        request(store_workspace.store, ApprovalRequest("ap-9", "run_9", "planner", "shell", {"command": "rm -rf build"}))
        page.wait_for_selector('[data-testid="approval-ap-9"]', timeout=5000)
        assert page.text_content('[data-testid="hud-waiting"]') == "1"
        shot(page, "dashboard-approval")
        page.click('[data-testid="deny-ap-9"]')
        page.wait_for_selector('[data-testid="approval-ap-9"]', state="detached")
        row = store_workspace.store.query("SELECT status, decided_by FROM approvals WHERE approval_id = 'ap-9'")[0]
        assert tuple(row) == ("denied", "api")
        assert page.text_content('[data-testid="hud-waiting"]') == "0"
