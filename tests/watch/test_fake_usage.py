"""The fake agent writes a usage log in the real CLI's format; `tt usage` reads it back."""

from __future__ import annotations

import json

from tests.helpers import wait_until

from tutti.ops import agents
from tutti.ops.send import send
from tutti.testing.fake_usage import tokens_for
from tutti.workspace import load_workspace_at

PROMPT = "Please summarise the design of the watcher in three sentences."
REPLY = "The watcher reads panes and records state changes as events."


def _usage(tt, root, *args):
    res = tt("usage", "--json", *args, cwd=root)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_claude_look_log_is_read_by_tt_usage(fake_workspace, tt):
    root = fake_workspace([{"name": "a"}, {"name": "b"}],
                          script=f'work_secs = 0.3\nreply = "{REPLY}"\n\n[[rule]]\nmatch = "fixed"\n'
                                 f'reply = "ok"\n')
    ws = load_workspace_at(root)
    agents.up(ws)
    send(ws, "a", PROMPT, wait=True, timeout_secs=30)
    logs = list((root / ".tutti" / "homes" / "a" / ".claude" / "projects").glob("*/*.jsonl"))
    assert len(logs) == 1
    lines = [json.loads(x) for x in logs[0].read_text().splitlines()]
    assert [x["type"] for x in lines] == ["user", "assistant"]
    assert lines[1]["message"]["usage"]["input_tokens"] == tokens_for(PROMPT)

    rows = {r["agent"]: r for r in _usage(tt, root)["agents"]}
    assert rows["a"]["input_tokens"] == tokens_for(PROMPT)
    assert rows["a"]["output_tokens"] == tokens_for(REPLY)
    assert rows.get("b", {}).get("output_tokens", 0) == 0  # b was never prompted
    by_agent = _usage(tt, root, "--by", "agent")
    assert "a" in json.dumps([g for g in by_agent["groups"]])

def test_usage_false_and_fixed_numbers(fake_workspace, tt):
    root = fake_workspace([{"name": "a"}], script='work_secs = 0.2\nusage = false\n')
    ws = load_workspace_at(root)
    agents.up(ws)
    send(ws, "a", "hello there", wait=True, timeout_secs=30)
    assert not list((root / ".tutti" / "homes").glob("a/.claude/projects/*/*.jsonl"))

    (root / ".records" / "script.toml").write_text(
        'work_secs = 0.2\nlook = "codex"\n[usage]\ninput_tokens = 1200\noutput_tokens = 345\n')
    agents.down(ws)
    wait_until(lambda: not agents.status(ws)[0].running, timeout=10)
    agents.up(ws)
    send(ws, "a", "hello again", wait=True, timeout_secs=30)
    rollouts = list((root / ".tutti" / "homes" / "a" / ".codex" / "sessions").glob("**/rollout-*.jsonl"))
    assert len(rollouts) == 1
    row = {r["agent"]: r for r in _usage(tt, root)["agents"]}["a"]
    assert (row["input_tokens"], row["output_tokens"]) == (1200, 345)
