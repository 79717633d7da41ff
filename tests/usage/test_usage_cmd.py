"""`tt usage` as a user runs it."""

from __future__ import annotations

import json

from tutti.runtimes.prepare import agent_home


def _place_claude_log(ws, fixture_log) -> None:
    d = agent_home(ws, "claude") / ".claude" / "projects" / "-x"
    d.mkdir(parents=True)
    (d / "s.jsonl").write_text(fixture_log("claude_session_log_sample.jsonl"))


def test_usage_json_reports_per_agent_tokens(tt, usage_ws, fixture_log):
    _place_claude_log(usage_ws, fixture_log)
    r = tt("usage", "--json", cwd=usage_ws.root)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    rows = {a["agent"]: a for a in data["agents"]}
    assert rows["claude"]["input_tokens"] == 2400
    assert rows["claude"]["cache_creation_tokens"] == 600
    assert rows["claude"]["cache_read_tokens"] == 1000
    assert rows["claude"]["output_tokens"] == 84
    assert rows["claude"]["total_tokens"] == 4084
    assert rows["codex"]["total_tokens"] == 0
    assert data["total"]["total_tokens"] == 4084


def test_usage_table_filtered_to_one_agent(tt, usage_ws, fixture_log):
    _place_claude_log(usage_ws, fixture_log)
    r = tt("usage", "--agent", "claude", cwd=usage_ws.root)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    claude_row = next(ln for ln in lines if ln.startswith("claude "))
    assert claude_row.split()[-2:] == ["4084", "2"]
    assert not any(ln.startswith("codex ") for ln in lines)


def test_usage_unknown_agent_is_a_one_line_error(tt, usage_ws):
    r = tt("usage", "--agent", "nobody", cwd=usage_ws.root)
    assert r.returncode != 0
    assert "error[not_found]: unknown agent 'nobody'" in r.stderr
    assert "Traceback" not in r.stderr


def test_usage_bad_since_is_a_usage_error(tt, usage_ws):
    r = tt("usage", "--since", "yesterdayish", cwd=usage_ws.root)
    assert r.returncode == 2
    assert "error[usage]: --since 'yesterdayish'" in r.stderr
