"""`tt usage --by provider|model|day|run|agent`: tokens and cost from CLI logs (Claude Code's
own session-log format) and API-direct calls (store events), checked against the arithmetic of
the log lines themselves."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from tutti.direct.events import RunRecorder
from tutti.direct.messages import Message, ModelResponse, Usage
from tutti.runtimes.prepare import agent_home

SONNET = (3.0, 15.0, 0.3, 3.75)  # $/Mtok: input, output, cache read, cache write (built-in table)
GPT4O = (2.5, 10.0, 1.25)


def _claude_line(i: int, ts: str, usage: tuple[int, int, int, int]) -> str:
    inp, write, read, out = usage
    return json.dumps({
        "type": "assistant", "timestamp": ts, "sessionId": "s-1", "requestId": f"req_{i}", "cwd": "/x",
        "message": {"id": f"msg_{i}", "model": "claude-sonnet-4-5", "role": "assistant", "content": [],
                    "usage": {"input_tokens": inp, "cache_creation_input_tokens": write,
                              "cache_read_input_tokens": read, "output_tokens": out}}})


def _claude_cost(usage: tuple[int, int, int, int]) -> float:
    inp, write, read, out = usage
    return (inp * SONNET[0] + out * SONNET[1] + read * SONNET[2] + write * SONNET[3]) / 1e6


DAY1 = "2026-11-24T10:00:00.000Z"
DAY1_LATER = "2026-11-24T10:05:00.000Z"
DAY2 = "2026-11-25T09:00:00.000Z"
LINES = [(DAY1, (1000, 200, 400, 50)), (DAY1_LATER, (1500, 0, 800, 70)), (DAY2, (900, 100, 0, 30))]


def _place_logs(ws) -> None:
    d = agent_home(ws, "claude") / ".claude" / "projects" / "-x"
    d.mkdir(parents=True)
    (d / "s.jsonl").write_text("\n".join(_claude_line(i, ts, u) for i, (ts, u) in enumerate(LINES)) + "\n")


def _direct_call(ws, run_id: str, inp: int, out: int, cached: int) -> float:
    cost = (inp * GPT4O[0] + out * GPT4O[1] + cached * GPT4O[2]) / 1e6
    rec = RunRecorder(ws.store, run_id, agent="codex", own_run=True)
    rec.started({"provider": "openai", "model": "gpt-4o"})
    response = ModelResponse(message=Message(role="assistant", content=[]),
                             usage=Usage(input_tokens=inp, output_tokens=out, cached_tokens=cached),
                             stop_reason="end_turn", model="gpt-4o", provider="openai", profile="main")
    rec.model_call(1, response, cost, True)
    return cost


def _step_window(ws, run_id: str, agent: str, start: str, end: str) -> None:
    with ws.store.transaction() as conn:
        for kind, ts in (("workflow.step.started", start), ("workflow.step.finished", end)):
            conn.execute("INSERT INTO events (ts, kind, workspace, agent, run_id, step, data) "
                         "VALUES (?, ?, ?, ?, ?, ?, '{}')", (ts, kind, ws.name, agent, run_id, "001-impl"))


def _by(tt, ws, by: str, *extra: str) -> dict:
    r = tt("usage", "--by", by, "--json", *extra, cwd=ws.root)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_cost_by_provider_and_model_matches_the_log_arithmetic(tt, usage_ws):
    _place_logs(usage_ws)
    direct_cost = _direct_call(usage_ws, "direct-1", 2000, 100, 500)

    data = _by(tt, usage_ws, "provider")
    groups = {g["key"]: g for g in data["groups"]}
    anthropic = groups["anthropic"]
    assert anthropic["input_tokens"] == 3400 and anthropic["output_tokens"] == 150
    assert anthropic["cache_read_tokens"] == 1200 and anthropic["cache_creation_tokens"] == 300
    assert anthropic["requests"] == 3
    assert abs(anthropic["cost_usd"] - round(sum(_claude_cost(u) for _, u in LINES), 6)) < 1e-6
    openai = groups["openai"]
    assert openai["input_tokens"] == 2000 and openai["cache_read_tokens"] == 500 and openai["requests"] == 1
    assert abs(openai["cost_usd"] - round(direct_cost, 6)) < 1e-6
    assert abs(data["total"]["cost_usd"] - round(sum(_claude_cost(u) for _, u in LINES) + direct_cost, 6)) < 1e-6
    # The most expensive group comes first.
    assert [g["key"] for g in data["groups"]] == sorted(groups, key=lambda k: -groups[k]["cost_usd"])

    models = {g["key"]: g for g in _by(tt, usage_ws, "model")["groups"]}
    assert set(models) == {"claude-sonnet-4-5", "gpt-4o"}


def test_by_day_splits_at_local_midnight_and_since_until_bound_the_window(tt, usage_ws):
    _place_logs(usage_ws)
    days = {g["key"]: g for g in _by(tt, usage_ws, "day")["groups"]}
    day1 = datetime.fromisoformat(DAY1.replace("Z", "+00:00")).astimezone().date().isoformat()
    day2 = datetime.fromisoformat(DAY2.replace("Z", "+00:00")).astimezone().date().isoformat()
    assert days[day1]["requests"] == 2 and days[day2]["requests"] == 1
    assert abs(days[day2]["cost_usd"] - round(_claude_cost(LINES[2][1]), 6)) < 1e-6

    only_first = _by(tt, usage_ws, "agent", "--since", "2026-11-24T00:00:00Z", "--until", "2026-11-24T10:01:00Z")
    assert only_first["total"]["requests"] == 1 and only_first["total"]["input_tokens"] == 1000


def test_by_run_attributes_cli_tokens_to_the_step_running_on_that_agent(tt, usage_ws):
    _place_logs(usage_ws)
    _step_window(usage_ws, "run-A", "claude", "2026-11-24T09:59:00.000Z", "2026-11-24T10:01:00.000Z")
    _direct_call(usage_ws, "direct-9", 10, 10, 0)
    runs = {g["key"]: g for g in _by(tt, usage_ws, "run")["groups"]}
    assert runs["run-A"]["requests"] == 1 and runs["run-A"]["input_tokens"] == 1000
    assert runs["(no run)"]["requests"] == 2
    assert runs["direct-9"]["requests"] == 1


def test_unknown_model_is_counted_but_flagged_unpriced(tt, usage_ws):
    d = agent_home(usage_ws, "claude") / ".claude" / "projects" / "-y"
    d.mkdir(parents=True)
    line = json.loads(_claude_line(7, DAY1, (100, 0, 0, 10)))
    line["message"]["model"] = "claude-mystery-9"
    (d / "s.jsonl").write_text(json.dumps(line) + "\n")
    data = _by(tt, usage_ws, "model")
    mystery = next(g for g in data["groups"] if g["key"] == "claude-mystery-9")
    assert mystery["requests"] == 1 and mystery["unpriced_requests"] == 1 and mystery["cost_usd"] == 0
    table = tt("usage", "--by", "model", cwd=usage_ws.root)
    assert "(+1 unpriced)" in table.stdout


def test_pricing_override_in_tutti_toml_reprices_cli_usage(tt, usage_ws):
    _place_logs(usage_ws)
    cfg = usage_ws.root / "tutti.toml"
    cfg.write_text(cfg.read_text() + '\n[pricing."claude-sonnet-4-5"]\ninput_per_mtok = 1.0\noutput_per_mtok = 1.0\n'
                   'cached_input_per_mtok = 0.0\ncache_write_per_mtok = 0.0\n')
    data = _by(tt, usage_ws, "provider")
    expected = sum(u[0] + u[3] for _, u in LINES) / 1e6
    assert abs(data["total"]["cost_usd"] - round(expected, 6)) < 1e-6


def test_week_starts_on_the_profiles_reset_day():
    from tutti.ops.usage import week_start

    now = datetime(2026, 12, 6, 15, 0).astimezone()  # a Sunday
    assert week_start("monday", now=now).date() == (now - timedelta(days=6)).date()
    assert week_start("sunday", now=now).date() == now.date()
    assert week_start("friday", now=now).hour == 0


def test_bad_grouping_and_bad_until_are_usage_errors(tt, usage_ws):
    r = tt("usage", "--until", "someday", cwd=usage_ws.root)
    assert r.returncode == 2 and "error[usage]: --until 'someday': not a duration or date" in r.stderr
    assert "Traceback" not in r.stderr
