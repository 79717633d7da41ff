"""Incremental, de-duplicated scanning of real log files into the store, and attribution."""

from __future__ import annotations

import json
from pathlib import Path

from tutti.ops.usage import usage_report
from tutti.runtimes.prepare import agent_home
from tutti.usage.claude_code import encode_project_dir
from tutti.usage.gemini_cli import project_hash
from tutti.usage.scan import scan


def _place_isolated_logs(ws, fixture_log) -> None:
    claude_dir = agent_home(ws, "claude") / ".claude" / "projects" / "-some-dir"
    claude_dir.mkdir(parents=True)
    (claude_dir / "s1.jsonl").write_text(fixture_log("claude_session_log_sample.jsonl"))
    codex_dir = agent_home(ws, "codex") / ".codex" / "sessions" / "2026" / "11" / "24"
    codex_dir.mkdir(parents=True)
    (codex_dir / "rollout-2026-11-24T03-29-42-x.jsonl").write_text(fixture_log("codex_rollout_sample.jsonl"))
    gemini_dir = agent_home(ws, "gemini") / ".gemini" / "tmp" / "proj" / "chats"
    gemini_dir.mkdir(parents=True)
    (gemini_dir / "session-1.jsonl").write_text(fixture_log("gemini_chat_log_sample.jsonl"))


def _by_agent(report) -> dict:
    return {a.agent: a.totals for a in report.agents}


def test_logs_in_each_agents_isolated_home_belong_to_that_agent(fixture_log, usage_ws):
    _place_isolated_logs(usage_ws, fixture_log)
    rows = _by_agent(usage_report(usage_ws, env={"HOME": str(usage_ws.root / "nohome")}))
    assert rows["claude"].total_tokens == 4084
    assert rows["codex"].total_tokens == 2484
    assert rows["gemini"].total_tokens == 2484
    assert rows["shared"].total_tokens == 0
    assert usage_report(usage_ws, env={"HOME": "/nonexistent"}).total.total_tokens == 4084 + 2484 + 2484


def test_second_scan_reads_nothing_and_counts_nothing_twice(fixture_log, usage_ws):
    _place_isolated_logs(usage_ws, fixture_log)
    env = {"HOME": "/nonexistent"}
    first = scan(usage_ws, env)
    assert first.files_read == 3 and first.bytes_read > 0
    second = scan(usage_ws, env)
    assert (second.files_seen, second.files_read, second.bytes_read) == (3, 0, 0)
    assert usage_report(usage_ws, env=env).total.total_tokens == 4084 + 2484 + 2484


def test_appended_lines_are_read_from_the_saved_offset_and_partial_lines_wait(fixture_log, usage_ws):
    _place_isolated_logs(usage_ws, fixture_log)
    env = {"HOME": "/nonexistent"}
    scan(usage_ws, env)
    log = next((agent_home(usage_ws, "claude") / ".claude" / "projects").glob("*/s1.jsonl"))
    new_entry = json.dumps({
        "type": "assistant", "timestamp": "2026-11-24T04:00:00.000Z", "requestId": "req_9",
        "message": {"id": "msg_new", "model": "claude-opus-4-8", "usage": {
            "input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 5, "output_tokens": 7}},
    })
    with log.open("a") as fh:
        fh.write(new_entry[:40])  # the runtime is mid-write
    partial = scan(usage_ws, env)
    assert partial.records == 0
    with log.open("a") as fh:
        fh.write(new_entry[40:] + "\n")
    done = scan(usage_ws, env)
    assert done.files_read == 1 and done.bytes_read == len(new_entry) + 1
    assert _by_agent(usage_report(usage_ws, env=env))["claude"].total_tokens == 4084 + 22


def test_an_archived_copy_of_a_rollout_is_not_counted_twice(fixture_log, usage_ws):
    # Codex moves finished rollouts to archived_sessions/: same records under a new path.
    _place_isolated_logs(usage_ws, fixture_log)
    env = {"HOME": "/nonexistent"}
    scan(usage_ws, env)
    log = next((agent_home(usage_ws, "codex") / ".codex" / "sessions").rglob("rollout-*.jsonl"))
    archived = agent_home(usage_ws, "codex") / ".codex" / "archived_sessions" / log.name
    archived.parent.mkdir(parents=True)
    log.rename(archived)
    assert scan(usage_ws, env).files_read == 1
    assert _by_agent(usage_report(usage_ws, env=env))["codex"].total_tokens == 2484


def test_a_truncated_log_is_read_again_from_the_start(fixture_log, usage_ws):
    _place_isolated_logs(usage_ws, fixture_log)
    env = {"HOME": "/nonexistent"}
    scan(usage_ws, env)
    log = next((agent_home(usage_ws, "gemini") / ".gemini" / "tmp").rglob("session-*.jsonl"))
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:5]))  # shorter than the saved offset
    stats = scan(usage_ws, env)
    assert stats.files_read == 1 and stats.bytes_read == len("".join(lines[:5]).encode())
    assert _by_agent(usage_report(usage_ws, env=env))["gemini"].total_tokens == 2484


def test_shared_home_logs_are_attributed_by_worktree_and_other_projects_ignored(fixture_log, usage_ws, tmp_path):
    home = tmp_path / "userhome"
    worktree = usage_ws.worktree_path("shared").resolve()
    # Claude Code: the project directory named after the worktree path.
    claude_dir = home / ".claude" / "projects" / encode_project_dir(worktree)
    claude_dir.mkdir(parents=True)
    (claude_dir / "s.jsonl").write_text(fixture_log("claude_session_log_sample.jsonl", worktree))
    # A log of some other project in the same shared home is never counted.
    other = home / ".claude" / "projects" / encode_project_dir("/elsewhere/project")
    other.mkdir(parents=True)
    (other / "s.jsonl").write_text(fixture_log("claude_session_log_sample.jsonl", Path("/elsewhere/project")))
    # Codex: one rollout in the worktree, one elsewhere.
    day = home / ".codex" / "sessions" / "2026" / "11" / "24"
    day.mkdir(parents=True)
    (day / "rollout-a.jsonl").write_text(fixture_log("codex_rollout_sample.jsonl", worktree))
    (day / "rollout-b.jsonl").write_text(fixture_log("codex_rollout_sample.jsonl", Path("/elsewhere/project")))
    # Gemini: the chat log header names the project by sha256 of its root.
    chats = home / ".gemini" / "tmp" / "shared" / "chats"
    chats.mkdir(parents=True)
    text = fixture_log("gemini_chat_log_sample.jsonl").replace(
        "3f074de64a12479ff9b328ddfba4a44a5c199e59b023e41683cdfe7f305cf0fd", project_hash(worktree))
    (chats / "session-1.jsonl").write_text(text)

    env = {"HOME": str(home)}
    report = usage_report(usage_ws, env=env)
    rows = _by_agent(report)
    assert rows["shared"].total_tokens == 4084 + 2484 + 2484
    assert report.total.total_tokens == 4084 + 2484 + 2484
    # The foreign Codex rollout is marked and never read again.
    foreign = usage_ws.store.query("SELECT state FROM usage_files WHERE path LIKE '%rollout-b.jsonl'")
    assert json.loads(foreign[0]["state"]) == {"foreign": True}


def test_since_filters_by_record_time(fixture_log, usage_ws):
    _place_isolated_logs(usage_ws, fixture_log)
    env = {"HOME": "/nonexistent"}
    # Claude's two responses are at 03:17:19 and 03:17:22; Codex's at 03:29:42/43; Gemini's at 03:25:51.
    report = usage_report(usage_ws, env=env, since="2026-11-24T03:20:00Z")
    rows = _by_agent(report)
    assert rows["claude"].total_tokens == 0
    assert rows["codex"].total_tokens == 2484 and rows["gemini"].total_tokens == 2484


def test_usage_by_agent_gives_every_agent_its_figures_from_one_scan(fixture_log, usage_ws):
    from tutti.ops.usage import usage_by_agent, usage_for_agent

    _place_isolated_logs(usage_ws, fixture_log)
    figures = usage_by_agent(usage_ws)
    assert set(figures) == {"claude", "codex", "gemini", "shared"}
    assert figures["claude"]["total_tokens"] == 4084 and figures["claude"]["requests"] == 2
    assert figures["shared"]["total_tokens"] == 0
    assert usage_for_agent(usage_ws, "codex")["total_tokens"] == 2484
