"""Budget guardrails: weekly token caps from real runtime logs (and API-direct runs), checked
before up / send / run / verify."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from shared_fixtures import FIXTURES
from tutti.budget import check, week_start
from tutti.errors import BudgetError, ConfigError
from tutti.runtimes.prepare import agent_home
from tutti.store.db import now_iso
from tutti.workspace import load_workspace_at

LOGS = FIXTURES / "logs"
NOW = datetime(2026, 11, 25, 12, 0).astimezone()  # a Wednesday; the fixture log is from Tue 24th
CLAUDE_TOKENS = 4084  # input + cache_creation + cache_read + output of claude_session_log_sample.jsonl
ENV = {"HOME": "/nonexistent"}

GLOBAL = """
[[profile]]
name = "work"
provider = "anthropic"
plan = "{plan}"
reset_day = "{reset_day}"
"""

TOML = """
[workspace]
name = "budget-demo"

[workspace.auth]
default_profile = "work"

[[agent]]
name = "claude"
runtime = "claude-code"

[[agent]]
name = "other"
runtime = "claude-code"

[[workflow]]
name = "w"
[[workflow.step]]
type = "command"
run = "true"

[[workflow]]
name = "verify"
[[workflow.step]]
type = "command"
run = "true"
"""


def make(git_repo: Path, tutti_home: Path, budget: str, *, plan: str = "api", reset_day: str = "monday",
         today: bool = False):
    """The workspace, with the real Claude session log in agent `claude`'s home. `today`: the
    log's timestamps moved to now (the CLI tests run `tt` at the real current time)."""
    (tutti_home / "config.toml").write_text(GLOBAL.format(plan=plan, reset_day=reset_day))
    (git_repo / "tutti.toml").write_text(TOML + budget)
    ws = load_workspace_at(git_repo)
    logs = agent_home(ws, "claude") / ".claude" / "projects" / "-some-dir"
    logs.mkdir(parents=True)
    text = (LOGS / "claude_session_log_sample.jsonl").read_text()
    if today:
        text = re.sub(r'"timestamp": "[^"]+"', f'"timestamp": "{now_iso()}"', text)
    (logs / "s1.jsonl").write_text(text)
    return ws


def kinds(ws):
    return [e.kind for e in ws.store.read_events()]


def test_warn_threshold_reports_and_records_an_event(git_repo, tutti_home):
    ws = make(git_repo, tutti_home, "[budget]\nworkspace_weekly_tokens = 5000\n")
    res = check(ws, "send", "claude", now=NOW, env=ENV)
    assert res.active
    assert res.warnings == [f"workspace budget at ~81% ({CLAUDE_TOKENS}/5000) tokens before send"]
    (event,) = [e for e in ws.store.read_events() if e.kind == "budget.threshold"]
    assert event.data["used"] == CLAUDE_TOKENS and event.data["action"] == "send"


def test_enforce_at_the_cap_blocks_with_an_event(git_repo, tutti_home):
    ws = make(git_repo, tutti_home, '[budget]\nmode = "enforce"\nworkspace_weekly_tokens = 4000\n')
    with pytest.raises(BudgetError) as exc:
        check(ws, "run", None, now=NOW, env=ENV)
    assert exc.value.message == f"workspace budget exceeded ({CLAUDE_TOKENS}/4000) tokens; blocked run"
    assert exc.value.hint and "budget.mode" in exc.value.hint
    assert "budget.blocked" in kinds(ws)


def test_warn_mode_at_the_cap_only_warns(git_repo, tutti_home):
    ws = make(git_repo, tutti_home, "[budget]\nworkspace_weekly_tokens = 4000\n")
    res = check(ws, "up", "claude", now=NOW, env=ENV)
    assert res.warnings == [f"workspace budget exceeded ({CLAUDE_TOKENS}/4000) tokens; continuing because budget.mode=warn"]
    assert "budget.blocked" not in kinds(ws)


def test_agent_cap_applies_to_that_agent_only(git_repo, tutti_home):
    ws = make(git_repo, tutti_home,
              '[budget]\nmode = "enforce"\n[budget.agent_weekly_tokens]\nclaude = 1000\nother = 1000\n')
    assert check(ws, "send", "other", now=NOW, env=ENV).warnings == []
    with pytest.raises(BudgetError, match=r"agent 'claude' budget exceeded \(4084/1000\) tokens; blocked send"):
        check(ws, "send", "claude", now=NOW, env=ENV)


def test_inactive_without_an_api_plan_or_without_budget(git_repo, tutti_home):
    ws = make(git_repo, tutti_home, '[budget]\nmode = "enforce"\nworkspace_weekly_tokens = 10\n', plan="max")
    res = check(ws, "send", "claude", now=NOW, env=ENV)
    assert not res.active and "plan" in res.reason and res.warnings == []
    (git_repo / "tutti.toml").write_text(TOML)
    assert not check(load_workspace_at(git_repo), "send", "claude", now=NOW, env=ENV).active


def test_usage_before_the_weekly_reset_does_not_count(git_repo, tutti_home):
    # reset on Wednesday: the Tuesday log belongs to last week
    ws = make(git_repo, tutti_home, '[budget]\nmode = "enforce"\nworkspace_weekly_tokens = 4000\n',
              reset_day="wednesday")
    assert check(ws, "send", "claude", now=NOW, env=ENV).warnings == []


def test_api_direct_runs_recorded_tokens_count(git_repo, tutti_home):
    ws = make(git_repo, tutti_home, "[budget]\n[budget.agent_weekly_tokens]\nother = 1000\n")
    with ws.store.transaction() as conn:
        conn.execute("INSERT INTO runs (run_id, kind, status, agent_scope, started_at, input_tokens, output_tokens) "
                     "VALUES ('d1', 'direct', 'succeeded', 'other', ?, 700, 250)", (now_iso(),))
    res = check(ws, "send", "other", env=ENV)
    assert res.warnings == ["agent 'other' budget at ~95% (950/1000) tokens before send"]


def test_week_start_is_local_midnight_of_the_reset_day():
    start = week_start("monday", NOW)
    assert (start.weekday(), start.hour, start.minute, start.day) == (0, 0, 0, 23)
    assert start.utcoffset() == NOW.utcoffset()
    assert week_start("wednesday", NOW).day == 25
    with pytest.raises(ConfigError, match="reset_day = 'someday'"):
        week_start("someday", NOW)


# -- through the CLI ---------------------------------------------------------------------------
def test_tt_send_is_blocked_when_enforced(git_repo, tutti_home, tt, tmp_path):
    make(git_repo, tutti_home, '[budget]\nmode = "enforce"\nworkspace_weekly_tokens = 4000\n', today=True)
    res = tt("send", "claude", "hello", cwd=git_repo, env={"HOME": str(tmp_path)})
    assert res.returncode != 0
    assert "error[budget]: workspace budget exceeded" in res.stderr and "blocked send" in res.stderr
    assert "Traceback" not in res.stderr


def test_tt_send_direct_is_blocked_before_any_model_call(git_repo, tutti_home, tt, tmp_path):
    ws = make(git_repo, tutti_home, '[budget]\nmode = "enforce"\nworkspace_weekly_tokens = 4000\n', today=True)
    res = tt("send", "claude", "--direct", "hello", cwd=git_repo, env={"HOME": str(tmp_path)})
    assert res.returncode != 0
    assert "error[budget]: workspace budget exceeded" in res.stderr and "blocked send" in res.stderr
    assert "direct.model_call" not in kinds(ws)


def test_tt_up_is_blocked_when_enforced(git_repo, tutti_home, tt, tmp_path):
    make(git_repo, tutti_home, '[budget]\nmode = "enforce"\n[budget.agent_weekly_tokens]\nclaude = 100\n', today=True)
    res = tt("up", "claude", cwd=git_repo, env={"HOME": str(tmp_path)})
    assert res.returncode != 0 and "agent 'claude' budget exceeded (4084/100) tokens; blocked up" in res.stderr


def test_tt_run_json_stays_valid_with_the_warning_on_stderr(git_repo, tutti_home, tt, tmp_path):
    make(git_repo, tutti_home, "[budget]\nworkspace_weekly_tokens = 5000\n", today=True)
    res = tt("run", "w", "--json", cwd=git_repo, env={"HOME": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    json.loads(res.stdout)
    assert "warning: workspace budget at ~81% (4084/5000) tokens before run" in res.stderr
    ver = tt("verify", "--json", cwd=git_repo, env={"HOME": str(tmp_path)})
    assert ver.returncode == 0 and json.loads(ver.stdout)
    assert "tokens before verify" in ver.stderr


def test_a_reset_day_that_is_no_weekday_means_monday_with_a_warning(git_repo, tutti_home, tt, tmp_path):
    """The original reads any word that is no weekday as monday, so a global config written for it
    must load here too (it was an error before); we say so instead of guessing silently."""
    make(git_repo, tutti_home, "[budget]\nworkspace_weekly_tokens = 5000\n", reset_day="someday")
    res = tt("send", "claude", "hello", cwd=git_repo, env={"HOME": str(tmp_path)})
    assert "Traceback" not in res.stderr
    assert "reset_day 'someday' is not a weekday" in res.stderr and "resets on monday" in res.stderr
    assert "reset_day" not in next((ln for ln in res.stderr.splitlines() if ln.startswith("error[")), "")
