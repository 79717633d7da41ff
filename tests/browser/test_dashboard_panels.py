"""The dashboard's second half in headless Chromium against a real server: first paint without
JavaScript, station task + context bar, cost panel, provider health, run view with step logs,
and image upload into an agent's worktree (with the reference sent in the next prompt)."""

from __future__ import annotations

import json
import struct
import subprocess
import time
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from serve.live import load, serving, write_workspace
from tutti.sessions import agent_state

pytestmark = pytest.mark.browser


def open_dashboard(page, url: str) -> None:
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector('[data-testid="conn"][data-state="live"]')


def png(width: int = 4, height: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture
def ws(git_repo):
    w = load(write_workspace(git_repo))
    w.store.append_event("agent.idle", agent="planner", data={"to": "idle"})
    w.store.append_event("agent.working", agent="builder", data={"to": "working"})
    w.store.append_event("agent.prompt_sent", agent="builder", data={"text": "implement the parser for issue 42"})
    agent_state.update_state(w.state_dir, "builder", context_used_pct=64.0)
    return w


def _claude_log(ws, agent: str, lines: list[tuple[datetime, int, int]]) -> None:
    folder = ws.tutti_dir / "homes" / agent / ".claude" / "projects" / "-repo"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "s1.jsonl").open("a") as fh:
        for i, (ts, inp, out) in enumerate(lines):
            fh.write(json.dumps({"type": "assistant", "timestamp": ts.isoformat().replace("+00:00", "Z"),
                                 "sessionId": "s1", "requestId": f"r{agent}{i}", "message": {
                                     "id": f"m{agent}{i}", "model": "claude-sonnet-4-5",
                                     "usage": {"input_tokens": inp, "output_tokens": out}}}) + "\n")


def test_first_paint_without_javascript_shows_stations_task_and_context(browser, ws, tt, shot):
    assert tt("run", "check", cwd=ws.root).returncode == 0
    (run_id,) = [r["run_id"] for r in ws.store.query("SELECT run_id FROM runs")]
    with serving([ws]) as url:
        context = browser.new_context(java_script_enabled=False, viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(url + "/")
        assert page.locator(".station").count() == 2
        assert page.get_attribute('[data-testid="station-builder"]', "data-color") == "working"
        assert "implement the parser" in page.text_content('[data-testid="station-task-builder"]')
        assert page.get_attribute('[data-testid="station-ctx-builder"]', "style").replace(" ", "") == "width:64%"
        assert page.text_content(f'[data-testid="run-status-{run_id}"]') == "succeeded"
        assert page.text_content(f'[data-testid="run-progress-{run_id}"]').startswith("2/2 steps")
        shot(page, "dashboard-first-paint-no-js")
        context.close()


def test_station_task_and_context_bar_live(page, ws, shot):
    with serving([ws]) as url:
        open_dashboard(page, url)
        assert "implement the parser" in page.text_content('[data-testid="station-task-builder"]')
        width = page.eval_on_selector('[data-testid="station-ctx-builder"]', "e => e.style.width")
        assert width == "64%"
        ws.store.append_event("agent.prompt_sent", agent="planner", data={"text": "plan the release notes"})
        page.wait_for_selector('[data-testid="station-task-planner"]:text("plan the release notes")', timeout=5000)
        shot(page, "dashboard-station-task")


def test_cost_panel_per_day_chart_and_per_agent(page, ws, shot):
    now = datetime.now(UTC)
    _claude_log(ws, "planner", [(now - timedelta(days=1), 1_000_000, 0), (now, 2_000_000, 100_000)])
    _claude_log(ws, "builder", [(now, 500_000, 0)])
    with serving([ws]) as url:
        open_dashboard(page, url)
        today, yesterday = now.date().isoformat(), (now - timedelta(days=1)).date().isoformat()
        page.wait_for_selector(f'[data-testid="cost-day-{today}"]')
        assert page.locator('[data-testid="cost-chart"] .col').count() == 2
        # $3/M input, $15/M output for claude-sonnet-4-5: yesterday $3, today $6 + $1.5 (planner) + $1.5 = $9
        y = float(page.get_attribute(f'[data-testid="cost-bar-{yesterday}"]', "data-value"))
        t = float(page.get_attribute(f'[data-testid="cost-bar-{today}"]', "data-value"))
        assert (round(y, 4), round(t, 4)) == (3.0, 9.0)
        h_y = page.eval_on_selector(f'[data-testid="cost-bar-{yesterday}"]', "e => e.getBoundingClientRect().height")
        h_t = page.eval_on_selector(f'[data-testid="cost-bar-{today}"]', "e => e.getBoundingClientRect().height")
        assert abs(h_y / h_t - 1 / 3) < 0.05
        # planner: $3 yesterday + $6 + $1.5 today; builder: $1.5 today
        assert "$10.50" in page.text_content('[data-testid="cost-agent-planner"]')
        assert "$1.50" in page.text_content('[data-testid="cost-agent-builder"]')
        assert "$12.00" in page.text_content('[data-testid="cost-total"]')
        shot(page, "dashboard-cost-panel")


def test_provider_health_panel(page, ws, shot):
    with serving([ws]) as url:
        open_dashboard(page, url)
        ws.store.append_event("agent.auth_failed", agent="planner",
                              data={"to": "auth_failed", "detail": "Invalid API key"})
        page.wait_for_function("""() => {
            const s = document.querySelector('[data-testid^="provider-status-"]');
            return s && (s.textContent === 'degraded' || s.textContent === 'down'); }""", timeout=10000)
        assert "auth failed" in page.text_content('[data-testid="providers"]')
        shot(page, "dashboard-provider-health")


def test_run_view_shows_each_steps_outcome_and_log(page, git_repo, shot):
    extra = '\n[[workflow]]\nname = "noisy"\n\n[[workflow.step]]\nid = "say"\ntype = "command"\n' \
            'run = "echo hello-from-the-step"\n\n[[workflow.step]]\nid = "boom"\ntype = "command"\nrun = "exit 3"\n'
    w = load(write_workspace(git_repo, extra=extra))
    with serving([w]) as url:
        open_dashboard(page, url)
        page.click('[data-testid="dispatch-run-noisy"]')
        deadline = time.monotonic() + 30
        while not w.store.query("SELECT 1 FROM runs WHERE status NOT IN ('running', 'pending')"):
            assert time.monotonic() < deadline, "the run did not finish"
            time.sleep(0.1)
        run_id = w.store.query("SELECT run_id FROM runs")[0]["run_id"]
        page.wait_for_selector(f'[data-testid="run-{run_id}"]')
        page.click(f'[data-testid="run-{run_id}"]')
        page.wait_for_selector('[data-testid="run-view"]:not([hidden])')
        assert page.get_attribute('[data-testid="run-step-1"]', "data-status") == "success"
        assert page.get_attribute('[data-testid="run-step-2"]', "data-status") in ("failed", "warning")  # fail_mode decides
        page.click('[data-testid="run-step-log-1"]')
        page.wait_for_function("document.querySelector('[data-testid=\"run-view-log\"]').textContent"
                               ".includes('hello-from-the-step')")
        shot(page, "dashboard-run-view")


def test_image_upload_into_worktree_and_reference_in_next_prompt(page, fake_workspace, tmp_path, shot):
    from tutti.ops.agents import up

    root = fake_workspace([{"name": "planner"}], script='work_secs = 0.5\nreply = "Looked at it."\n')
    with (root / "tutti.toml").open("a") as fh:
        fh.write("\n[observe]\ndashboard = true\n")
    w = load(root)
    up(w)
    image = tmp_path / "screen.png"
    image.write_bytes(png())
    fake = tmp_path / "fake.png"
    fake.write_text("<script>not an image</script>")
    with serving([w]) as url:
        open_dashboard(page, url)
        page.click('[data-testid="station-planner"]')
        page.wait_for_selector('[data-testid="focus"]:not([hidden])')
        page.set_input_files('[data-testid="focus-image"]', str(fake))
        page.wait_for_selector('[data-testid="focus-upload-error"]')
        assert "not a PNG" in page.text_content('[data-testid="focus-upload-error"]')
        page.set_input_files('[data-testid="focus-image"]', str(image))
        page.wait_for_selector('[data-testid="focus-attachment"]')
        rel = page.get_attribute('[data-testid="focus-attachment"]', "data-path")
        assert rel.startswith(".tutti-inject/uploads/") and rel.endswith(".png")
        stored = w.worktree_path("planner") / rel
        assert stored.read_bytes() == png()
        uploads = list((w.worktree_path("planner") / ".tutti-inject" / "uploads").iterdir())
        assert len(uploads) == 1, "the rejected file was not stored"
        status = subprocess.run(["git", "status", "--porcelain"], cwd=w.worktree_path("planner"),
                                capture_output=True, text=True).stdout
        assert ".tutti-inject" not in status, "uploads are git-excluded"
        shot(page, "dashboard-image-attached")
        page.fill('[data-testid="focus-prompt"]', "what is wrong in this screenshot?")
        page.click('[data-testid="focus-send"]')
        records = root / ".records" / "planner.jsonl"
        deadline = time.monotonic() + 30
        while not (records.exists() and rel in records.read_text()):
            assert time.monotonic() < deadline, "the prompt with the image reference never arrived"
            time.sleep(0.1)
        prompt = json.loads(records.read_text().splitlines()[-1])["prompt"]
        assert prompt.startswith("what is wrong in this screenshot?") and f"[attached image: {rel}]" in prompt
        # attachments clear once the send is acknowledged
        page.wait_for_function("!document.querySelector('[data-testid=\"focus-attachment\"]')", timeout=30000)
