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


def test_usage_by_workspace_and_profile(tt, tmp_path, tutti_home, fixture_log):
    import subprocess

    roots = {}
    for name, profile in (("alpha", "team"), ("beta", "solo")):
        root = tmp_path / name
        root.mkdir()
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
        (root / "tutti.toml").write_text(f'[workspace]\nname = "{name}"\n\n[workspace.auth]\ndefault_profile = "{profile}"\n'
                                         '\n[[agent]]\nname = "claude"\nruntime = "claude-code"\n')
        d = root / ".tutti" / "homes" / "claude" / ".claude" / "projects" / "-x"
        d.mkdir(parents=True)
        (d / "s.jsonl").write_text(fixture_log("claude_session_log_sample.jsonl"))
        roots[name] = root
    (tutti_home / "config.toml").write_text(
        '[[profile]]\nname = "team"\n\n[[profile]]\nname = "solo"\n\n'
        + "".join(f'[[registered_workspace]]\nname = "{n}"\npath = "{r}"\n\n' for n, r in roots.items()))
    r = tt("usage", "--by-workspace", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = {w["workspace"]: w for w in json.loads(r.stdout)}
    assert rows["alpha"]["total_tokens"] == rows["beta"]["total_tokens"] == 4084
    r = tt("usage", "-p", "team", "--json", cwd=tmp_path)
    assert [w["workspace"] for w in json.loads(r.stdout)] == ["alpha"]
    r = tt("usage", "-p", "nope", cwd=tmp_path)
    assert r.returncode != 0 and "profile 'nope' is not in the global config" in r.stderr
