"""Port of the original's usage tests — `src/usage/mod.rs` (@ 4eec9a0) and `src/cli/usage.rs`
(@ 798cfb5) — through `tt usage --json` over the runtimes' own log files (the original's inline
JSONL, placed in each agent's home under `.tutti/homes/<agent>/`)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

HEAD = """\
[workspace]
name = "ws"

[[agent]]
name = "backend"
runtime = "claude-code"

[[agent]]
name = "frontend"
runtime = "codex"
"""

CLAUDE = """\
{"type":"human","timestamp":"2026-03-13T10:00:00Z","message":{"text":"hello"}}
{"type":"assistant","timestamp":"2026-03-13T10:00:01Z","message":{"model":"claude-sonnet-4-5-20250514","usage":{"input_tokens":1000,"output_tokens":200,"cache_creation_input_tokens":500,"cache_read_input_tokens":300}}}
{"type":"assistant","timestamp":"2026-03-13T10:00:05Z","message":{"model":"claude-sonnet-4-5-20250514","usage":{"input_tokens":2000,"output_tokens":400,"cache_creation_input_tokens":0,"cache_read_input_tokens":1500}}}
"""


def codex_lines(cwd, totals):
    lines = [{"timestamp": "2026-03-13T10:00:00Z", "type": "session_meta", "payload": {"cwd": str(cwd)}},
             {"timestamp": "2026-03-13T10:00:00Z", "type": "turn_context", "payload": {"model": "gpt-5.3-codex"}}]
    for ts, (inp, cached, out, reasoning) in totals:
        lines.append({"timestamp": ts, "type": "event_msg", "payload": {"type": "token_count", "info": {
            "total_token_usage": {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out,
                                  "reasoning_output_tokens": reasoning, "total_tokens": inp + out + reasoning}}}})
    return "".join(json.dumps(line) + "\n" for line in lines)


def write_claude(root, agent: str, text: str):
    path = root / ".tutti" / "homes" / agent / ".claude" / "projects" / "p" / "session.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def write_codex(root, agent: str, text: str):
    path = root / ".tutti" / "homes" / agent / ".codex" / "sessions" / "2026" / "03" / "13" / "rollout-2026-03-13T10-00-00-t.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def usage(tt_json, root, *args):
    rc, data, err = tt_json("usage", *args, cwd=root)
    assert rc == 0, err
    return {a["agent"]: a for a in data["agents"]}, data


def test_parse_jsonl_file_extracts_usage(ws, tt_json):
    """upstream: src/usage/mod.rs::tests::parse_jsonl_file_extracts_usage — both assistant lines
    count (they carry no message id / request id, so nothing can be a duplicate)."""
    root = ws(HEAD)
    write_claude(root, "backend", CLAUDE)
    agents, _ = usage(tt_json, root, "--since", "2026-03-13")
    b = agents["backend"]
    assert (b["input_tokens"], b["output_tokens"], b["cache_creation_tokens"], b["cache_read_tokens"]) == (
        3000, 600, 500, 1800)


def test_parse_jsonl_skips_before_since(ws, tt_json):
    """upstream: src/usage/mod.rs::tests::parse_jsonl_skips_before_since"""
    root = ws(HEAD)
    write_claude(root, "backend", CLAUDE.replace("2026-03-13T10:00:01Z", "2026-03-12T10:00:00Z"))
    agents, _ = usage(tt_json, root, "--since", "2026-03-13")
    assert agents["backend"]["input_tokens"] == 2000


def test_parse_codex_rollout_file_computes_delta_and_agent(ws, tt_json):
    """upstream: src/usage/mod.rs::tests::parse_codex_rollout_file_computes_delta_and_agent — the
    cumulative token_count lines become deltas (an unchanged repeat adds nothing) and the session
    belongs to the agent whose worktree is its cwd. Deliberate difference (inventory §12.14): Codex's
    `input_tokens` already include `cached_input_tokens` and `output_tokens` include the reasoning
    tokens; the original added both again (input 130 + cached 30, output 16 + 9). Ours reports
    non-cached input 100 + cached 30 and output 16 (of which reasoning 9): total 146, not 185."""
    root = ws(HEAD)
    wt = root / ".tutti" / "worktrees" / "frontend"
    write_codex(root, "frontend", codex_lines(wt, [("2026-03-13T10:00:01Z", (100, 20, 10, 5)),
                                                   ("2026-03-13T10:00:02Z", (130, 30, 16, 9)),
                                                   ("2026-03-13T10:00:03Z", (130, 30, 16, 9))]))
    agents, _ = usage(tt_json, root, "--since", "2026-03-13")
    f = agents["frontend"]
    assert f["input_tokens"] + f["cache_read_tokens"] == 130 and f["cache_read_tokens"] == 30
    assert (f["output_tokens"], f["reasoning_tokens"], f["total_tokens"]) == (16, 9, 146)
    assert f["models"] == ["gpt-5.3-codex"]


def test_parse_codex_rollout_file_respects_since_cutoff(ws, tt_json):
    """upstream: src/usage/mod.rs::tests::parse_codex_rollout_file_respects_since_cutoff — only the
    delta after the cutoff counts: 60 input (10 of them cached) and 5 output (+2 reasoning; the
    original summed them to 7, see the test above)."""
    root = ws(HEAD)
    write_codex(root, "frontend", codex_lines(root, [("2026-03-13T10:00:01Z", (100, 10, 20, 4)),
                                                     ("2026-03-13T10:00:10Z", (160, 20, 25, 6))]))
    agents, _ = usage(tt_json, root, "--since", "2026-03-13T10:00:05Z")
    f = agents["frontend"]
    assert (f["input_tokens"] + f["cache_read_tokens"], f["cache_read_tokens"]) == (60, 10)
    assert (f["output_tokens"], f["reasoning_tokens"]) == (5, 2)


@pytest.mark.parametrize(("path", "encoded"), [
    ("/Users/foo/bar", "-Users-foo-bar"),
    ("/home/user/projects/my-app", "-home-user-projects-my-app"),
    ("/Users/adam/Documents/GitHub/tutti", "-Users-adam-Documents-GitHub-tutti"),
])
def test_encode_project_path(path, encoded):
    """upstream: src/usage/mod.rs::tests::encode_project_path_basic, encode_project_path_home,
    encode_project_path_nested (Claude Code's project directory name; ours also maps `.`/`_` like
    Claude does, inventory §12.14)."""
    from tutti.usage.claude_code import encode_project_dir

    assert encode_project_dir(path) == encoded


def test_shared_claude_home_is_read_from_the_encoded_project_dir(ws, tt_json, tmp_path):
    """upstream: src/usage/mod.rs::tests::encode_project_path_* end to end — with the user's own
    `~/.claude` (share_home), the workspace's logs are found under the encoded directory."""
    from tutti.usage.claude_code import encode_project_dir

    root = ws(HEAD.replace('name = "backend"\nruntime = "claude-code"\n',
                           'name = "backend"\nruntime = "claude-code"\nworktree = false\nshare_home = true\n'))
    claude_home = tmp_path / "claude-home"
    log = claude_home / "projects" / encode_project_dir(root) / "s.jsonl"
    log.parent.mkdir(parents=True)
    line = json.loads(CLAUDE.splitlines()[2])
    line["cwd"] = str(root)  # real Claude Code lines carry the session's cwd
    log.write_text(json.dumps(line) + "\n")
    rc, data, err = tt_json("usage", "--since", "2026-03-13", cwd=root, env={"CLAUDE_CONFIG_DIR": str(claude_home)})
    assert rc == 0, err
    assert data["total"]["input_tokens"] == 2000


@pytest.mark.parametrize("day", ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])
def test_compute_reset_start_each_weekday(day):
    """upstream: src/usage/mod.rs::tests::compute_reset_start_monday,
    src/usage/mod.rs::tests::compute_reset_start_each_weekday — the week starts on the profile's
    reset_day, within the last 7 days (ours at local midnight; the original at 00:00 UTC)."""
    from tutti.budget import week_start

    start = week_start(day)
    now = datetime.now().astimezone()
    assert start.strftime("%A").lower() == day
    assert start <= now and (now - start).days < 7


def test_profile_config_with_new_fields_and_backward_compat(global_config):
    """upstream: src/usage/mod.rs::tests::profile_config_with_new_fields,
    src/usage/mod.rs::tests::profile_config_backward_compat"""
    from tutti.config.global_config import load_global

    global_config('[user]\nname = "Test"\n\n[[profile]]\nname = "claude-max"\nprovider = "anthropic"\n'
                  'command = "claude"\nplan = "max"\nreset_day = "monday"\nweekly_hours = 45.0\n\n'
                  '[[profile]]\nname = "claude-personal"\nprovider = "anthropic"\ncommand = "claude"\nmax_concurrent = 5\n')
    new, old = load_global().profiles
    assert (new.plan, new.reset_day, new.weekly_hours) == ("max", "monday", 45.0)
    assert (old.name, old.plan, old.weekly_hours) == ("claude-personal", None, None)


def registered(tt, git_repo, tmp_path, global_config, profiles: list[str], assigned: dict[str, str]):
    text = "".join(f'[[profile]]\nname = "{p}"\nprovider = "anthropic"\ncommand = "claude"\nplan = "api"\n\n'
                   for p in profiles)
    for name in ("a", "b"):
        root = tmp_path / name
        root.mkdir()
        auth = f'[workspace.auth]\ndefault_profile = "{assigned[name]}"\n' if name in assigned else ""
        (root / "tutti.toml").write_text(f'[workspace]\nname = "{name}"\n{auth}\n[[agent]]\nname = "x"\nruntime = "codex"\n')
        text += f'[[registered_workspace]]\nname = "{name}"\npath = "{root}"\n\n'
    global_config(text)


def test_resolve_workspaces_single_profile_includes_unassigned(tt_json, git_repo, tmp_path, global_config):
    """upstream: src/cli/usage.rs::tests::resolve_workspaces_single_profile_includes_unassigned"""
    registered(None, git_repo, tmp_path, global_config, ["personal"], {"a": "personal"})
    rc, data, err = tt_json("usage", "--profile", "personal", cwd=tmp_path)
    assert rc == 0, err
    rows = data if isinstance(data, list) else data["workspaces"]
    assert sorted(r["workspace"] for r in rows) == ["a", "b"]


def test_resolve_workspaces_multi_profile_excludes_unassigned(tt_json, git_repo, tmp_path, global_config):
    """upstream: src/cli/usage.rs::tests::resolve_workspaces_multi_profile_excludes_unassigned"""
    registered(None, git_repo, tmp_path, global_config, ["personal", "work"], {"a": "work"})
    rc, data, err = tt_json("usage", "--profile", "personal", cwd=tmp_path)
    assert rc == 0, err
    rows = data if isinstance(data, list) else data["workspaces"]
    assert rows == []
