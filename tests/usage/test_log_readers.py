"""The three log readers on the real logs in ../shared/fixtures/logs, with totals worked out by
hand from the files (see each test's comment)."""

from __future__ import annotations

from pathlib import Path

from shared_fixtures import FIXTURES
from tutti.usage import claude_code, codex, gemini_cli
from tutti.usage.records import UsageTotals

LOGS = FIXTURES / "logs"


def _lines(name: str) -> list[str]:
    return (LOGS / name).read_text().splitlines()


def _sum(records) -> UsageTotals:
    t = UsageTotals()
    for r in records:
        t.add(r)
    return t


def _dedup(records):
    return list({r.key: r for r in records}.values())


def test_claude_session_log_counts_each_response_once_and_skips_synthetic_errors():
    # Two real responses (msg_7823…, msg_2ea4…), each input 1200 / cache write 300 /
    # cache read 500 / output 42; the 401 entry is `<synthetic>` with zero usage.
    t = _sum(_dedup(claude_code.parse_lines(_lines("claude_session_log_sample.jsonl"), {})))
    assert (t.input_tokens, t.cache_creation_tokens, t.cache_read_tokens, t.output_tokens) == (2400, 600, 1000, 84)
    assert t.total_tokens == 4084
    assert t.requests == 2
    assert t.models == ["claude-opus-4-8"]


def test_claude_streamed_duplicate_lines_share_one_key():
    lines = _lines("claude_session_log_sample.jsonl")
    assistant = [ln for ln in lines if '"msg_7823eb62644244b69dcc"' in ln]
    records = claude_code.parse_lines(lines + assistant * 3, {})
    assert len(records) == 5  # the reader sees every line ...
    assert _sum(_dedup(records)).total_tokens == 4084  # ... the key makes them one record


def test_claude_project_dir_encoding_replaces_every_non_alphanumeric_character():
    assert claude_code.encode_project_dir("/work/repo/.tutti/worktrees/a_b") == "-work-repo--tutti-worktrees-a-b"
    assert claude_code.encode_project_dir("/tmp/my.proj v2") == "-tmp-my-proj-v2"


def test_codex_rollout_turns_cumulative_totals_into_deltas_without_double_counting_cache():
    # token_count totals: 1200/500 cached/42 out (10 reasoning), then 2400/1000/84 (20).
    # Deltas: 2 × (700 uncached + 500 cached, 42 out) → 1400 + 1000 + 84 = 2484, which is
    # exactly Codex's own total_tokens — cached tokens are not added on top of input.
    state: dict = {}
    records = codex.parse_lines(_lines("codex_rollout_sample.jsonl"), state)
    t = _sum(records)
    assert (t.input_tokens, t.cache_read_tokens, t.output_tokens, t.reasoning_tokens) == (1400, 1000, 84, 20)
    assert t.total_tokens == 2484
    assert t.requests == 2
    assert state["cwd"] == "<scratch>/final/codex"
    assert records[0].model == "gpt-5.5"


def test_codex_reader_resumes_from_saved_state_across_incremental_reads():
    lines = _lines("codex_rollout_sample.jsonl")
    split = next(i for i, ln in enumerate(lines) if '"token_count"' in ln) + 1
    state: dict = {}
    first = codex.parse_lines(lines[:split], state)
    second = codex.parse_lines(lines[split:], state)  # same state dict, as the scanner persists it
    assert [r.total_tokens for r in first + second] == [1242, 1242]
    assert first[0].key != second[0].key


def test_codex_repeated_total_gives_no_record():
    lines = _lines("codex_rollout_sample.jsonl")
    last_count = [ln for ln in lines if '"token_count"' in ln][-1]
    assert len(codex.parse_lines(lines + [last_count], {})) == 2


def test_gemini_chat_log_keeps_last_write_of_each_message():
    # Message b717fe92… is written twice (before and after its tool call), 26ceb1cf… once:
    # 2 × (1200 input incl. 500 cached, 42 output) → 1400 + 1000 + 84.
    state: dict = {}
    t = _sum(_dedup(gemini_cli.parse_lines(_lines("gemini_chat_log_sample.jsonl"), state)))
    assert (t.input_tokens, t.cache_read_tokens, t.output_tokens) == (1400, 1000, 84)
    assert t.total_tokens == 2484
    assert t.requests == 2
    assert state["project_hash"] == "3f074de64a12479ff9b328ddfba4a44a5c199e59b023e41683cdfe7f305cf0fd"


def test_gemini_project_hash_is_sha256_of_the_path():
    # the same function Gemini CLI uses (crypto.createHash("sha256").update(projectRoot))
    assert gemini_cli.project_hash("/a/b") == "662b7b62a798bb2d53e67cad9778e12e48297c79eae98d3aae7197be825d768f"


def test_aider_history_token_lines_become_records():
    # A real history written by Aider 0.86.2 (one exchange: "777 sent, 14 received"), plus the
    # shapes Aider prints with cache figures and rounded thousands.
    from tutti.usage import aider

    lines = (Path(__file__).parent / "data" / "aider.chat.history.md").read_text().splitlines()
    lines += ["> Tokens: 1.2k sent, 300 cache write, 500 cache hit, 42 received. Cost: $0.01 message, $0.02 session.",
              "> Tokens: 15k sent, 2.0k received."]
    state = {"path": "h.md"}
    records = aider.parse_lines(lines, state)
    assert [(r.input_tokens, r.cache_creation_tokens, r.cache_read_tokens, r.output_tokens) for r in records] == [
        (777, 0, 0, 14), (400, 300, 500, 42), (15000, 0, 0, 2000)]
    assert len({r.key for r in records}) == 3
    assert records[0].ts.startswith("2026-11-25T")
