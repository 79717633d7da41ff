"""Issue #11 §2: Claude log lines that carry neither `message.id` nor `requestId` (older Claude
Code versions) are still counted — each line once, as the original counted them — through the
real scanner and the store."""

from __future__ import annotations

import json

from tutti.ops.usage import usage_report
from tutti.runtimes.prepare import agent_home
from tutti.usage import claude_code


def _line(tokens: int, ts: str) -> str:
    return json.dumps({"type": "assistant", "timestamp": ts, "message": {
        "model": "claude-sonnet-4", "usage": {"input_tokens": tokens, "output_tokens": 1,
                                               "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}})


def test_lines_without_ids_each_count_once(usage_ws):
    log = agent_home(usage_ws, "claude") / ".claude" / "projects" / "-x" / "old.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text(_line(100, "2026-12-01T10:00:00Z") + "\n" + _line(200, "2026-12-01T10:01:00Z") + "\n")
    env = {"HOME": "/nonexistent"}
    assert usage_report(usage_ws, env=env).total.total_tokens == 100 + 1 + 200 + 1  # not collapsed into one
    with log.open("a") as fh:
        fh.write(_line(300, "2026-12-01T10:02:00Z") + "\n")
    # an appended line is new; the first two are not counted again
    assert usage_report(usage_ws, env=env).total.total_tokens == 100 + 1 + 200 + 1 + 300 + 1


def test_lines_with_ids_still_deduplicate():
    line = json.dumps({"type": "assistant", "requestId": "req_1", "message": {
        "id": "msg_1", "model": "m", "usage": {"input_tokens": 5, "output_tokens": 1}}})
    records = claude_code.parse_lines([line, line], {"path": "/p"})
    assert len({r.key for r in records}) == 1
