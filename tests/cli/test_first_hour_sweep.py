"""A demanding new user walks the README: findings of that sweep, each pinned by a test that
failed before its fix (real `tt` subprocesses, real git repositories, an isolated TUTTI_HOME)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def _project(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    root = tmp_path / name
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_second_project_init_names_the_verify_commands_the_existing_rules_block(tt, tmp_path):
    """The first `tt init` writes allow rules for its own workflows; a second project's `tt init`
    kept them silently, and its `tt run verify` was then blocked on the first step. Now it says
    which commands are not allowed and how to allow them, and the next steps say it first."""
    first = _project(tmp_path, "gosvc", {"go.mod": "module example.com/gosvc\n\ngo 1.22\n"})
    assert tt("init", cwd=first).returncode == 0
    second = _project(tmp_path, "pyproj", {"pyproject.toml": "[project]\nname = \"pyproj\"\n"})
    res = tt("init", cwd=second)
    assert res.returncode == 0, res.stderr
    assert "are not allowed by the rules in" in res.stderr
    assert "tt permissions suggest verify --apply" in res.stderr
    steps = res.stdout.split("Next steps:")[1]
    assert steps.index("tt permissions suggest verify --apply") < steps.index("tt run verify")
    blocked = tt("run", "verify", cwd=second)
    assert blocked.returncode == 1 and "blocked by permissions policy" in blocked.stdout + blocked.stderr
    assert tt("permissions", "suggest", "verify", "--apply", cwd=second).returncode == 0
    assert tt("run", "verify", "--strict", cwd=second).returncode == 0


def test_init_json_lists_the_blocked_commands_and_nothing_when_covered(tt, tmp_path):
    first = _project(tmp_path, "one", {"pyproject.toml": "[project]\nname = \"one\"\n"})
    assert tt("init", cwd=first).returncode == 0
    twin = _project(tmp_path, "two", {"pyproject.toml": "[project]\nname = \"two\"\n"})
    res = tt("init", "--json", cwd=twin)
    data = json.loads(res.stdout)
    assert data["permissions"]["blocked_commands"] == []
    assert "not allowed" not in res.stderr
    assert "tt permissions suggest" not in "\n".join(data["next_steps"])


def test_a_command_group_alone_prints_its_help_not_an_error(tt, tmp_path):
    """`tt queue` (or bare `tt`) printed the whole help page as `error[usage]: Usage: …` + a hint."""
    for args in (("queue",), ("approvals",), ()):
        res = tt(*args, cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert res.stdout.startswith("Usage: ") and "Commands:" in res.stdout
        assert "error[" not in res.stderr


def test_health_window_error_names_the_window_flag(tt, git_repo):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "h"\n')
    res = tt("health", "--window", "2x", cwd=git_repo)
    assert res.returncode == 2
    assert res.stderr.splitlines()[0] == "error[usage]: --window '2x': not a duration or date"


def test_profiles_without_any_names_the_global_config_in_use(tt, tmp_path, tutti_home):
    res = tt("profiles", cwd=tmp_path)
    assert res.returncode == 0
    assert f"add [[profile]] to {tutti_home / 'config.toml'}" in res.stdout


def _read_only(path: Path):
    """Make `path` read-only for this process: chmod when not root, else a read-only bind mount
    (skipped where mounting is not permitted). Returns the undo function."""
    import os

    import pytest

    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")]}
        for p in modes:
            p.chmod(modes[p] & ~0o222)
        return lambda: [p.chmod(m) for p, m in modes.items()]
    mounted = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {mounted.stderr.decode().strip()}")
    ro = subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], capture_output=True)
    if ro.returncode != 0:
        subprocess.run(["umount", str(path)])
        pytest.skip(f"cannot remount read-only here: {ro.stderr.decode().strip()}")
    return lambda: subprocess.run(["umount", str(path)], check=True)


def test_a_read_only_store_is_one_error_line_not_a_traceback(tt, git_repo):
    """`tt run verify` with a read-only `.tutti/` (an existing store) died with
    `sqlite3.OperationalError: attempt to write a readonly database` and a traceback."""
    (git_repo / "tutti.toml").write_text(
        '[workspace]\nname = "ro"\n[[workflow]]\nname = "verify"\n'
        '[[workflow.step]]\ntype = "command"\nrun = "true"\nidempotent = true\n')
    assert tt("run", "verify", cwd=git_repo).returncode == 0
    undo = _read_only(git_repo / ".tutti")
    try:
        res = tt("run", "verify", cwd=git_repo)
        listed = tt("runs", "list", cwd=git_repo)
    finally:
        undo()
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines[-2].startswith("error[store]: cannot write the workspace store (.tutti/tutti.db): ")
    assert "readonly database" in lines[-2] and lines[-1].strip().startswith("hint: make .tutti/")
    assert listed.returncode == 0 and "verify" in listed.stdout  # reads still work


def test_usage_by_runtime_groups_by_the_agents_runtime_like_the_agent_table(tt, fake_workspace):
    """`tt usage` said runtime `fake` for a fake agent while `tt usage --by runtime` said
    `claude-code` (the log format the fake agent writes)."""
    root = fake_workspace([{"name": "api"}])
    try:
        assert tt("send", "api", "hello there", "--auto-up", "--wait", cwd=root, timeout=90).returncode == 0
        table = json.loads(tt("usage", "--json", cwd=root).stdout)
        by_runtime = json.loads(tt("usage", "--by", "runtime", "--json", cwd=root).stdout)
        by_provider = json.loads(tt("usage", "--by", "provider", "--json", cwd=root).stdout)
    finally:
        tt("down", "--all", cwd=root)
    assert [a["runtime"] for a in table["agents"]] == ["fake"] and table["agents"][0]["total_tokens"] > 0
    assert [g["key"] for g in by_runtime["groups"]] == ["fake"]
    assert [g["key"] for g in by_provider["groups"]] == ["anthropic"]  # priced as the model it names


def test_permissions_export_for_another_runtime_has_a_hint(tt, tmp_path):
    res = tt("permissions", "export", "--runtime", "codex", cwd=tmp_path)
    assert res.returncode == 2
    lines = res.stderr.splitlines()
    assert lines[0] == "error[usage]: unsupported runtime 'codex'; supported: claude"
    assert lines[1].strip().startswith("hint: only Claude Code reads a settings file")


def test_every_command_is_in_the_readme_commands_table():
    """`tt --help` lists intake, watch, msg, profiles, health and telemetry; the README's command
    table, the first thing a new user reads, had none of them."""
    import click

    from tutti.cli.app import cli

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("## Commands", 1)[1].split("\n## ", 1)[0]
    missing = [c for c in cli.list_commands(click.Context(cli)) if f"`tt {c}" not in table and f"· `tt {c}" not in table]
    assert missing == []


def test_a_reset_day_that_is_no_weekday_means_monday_with_a_warning(tt, tmp_path, tutti_home):
    """`reset_day = "someday"` in a global [[profile]] crashed `tt profiles` with a ValueError
    traceback; the original reads any unknown word as monday."""
    (tutti_home / "config.toml").write_text(
        '[[profile]]\nname = "p"\nprovider = "anthropic"\nreset_day = "someday"\n'
        '[[profile]]\nname = "q"\nprovider = "openai"\nreset_day = "FRI"\n')
    res = tt("profiles", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert [(p["name"], p["reset_day"]) for p in json.loads(res.stdout)] == [("p", "monday"), ("q", "friday")]
    assert "reset_day 'someday' is not a weekday" in res.stderr and "Traceback" not in res.stderr


def test_queue_add_without_a_queue_intake_says_nothing_will_read_it(tt, git_repo):
    """`tt queue add` succeeded silently in a workspace without `[[intake]] kind = "queue"`; the
    item then never showed in `tt intake list` nor reached `tt loop`."""
    toml = git_repo / "tutti.toml"
    toml.write_text('[workspace]\nname = "q"\n')
    res = tt("queue", "add", "Fix login", cwd=git_repo)
    assert res.returncode == 0 and "Queued #1" in res.stdout
    assert 'no [[intake]] of kind "queue"' in res.stderr
    assert "queue:q#1" not in tt("intake", "list", cwd=git_repo).stdout
    toml.write_text('[workspace]\nname = "q"\n[[intake]]\nname = "todo"\nkind = "queue"\n')
    res = tt("queue", "add", "Fix logout", "--json", cwd=git_repo)
    assert res.returncode == 0 and json.loads(res.stdout)["title"] == "Fix logout" and res.stderr == ""
    listed = tt("intake", "list", cwd=git_repo).stdout
    assert "queue:q#1" in listed and "queue:q#2" in listed


def test_intake_list_without_any_intake_says_so(tt, git_repo):
    """`tt intake list` said "No open work items." when no [[intake]] was configured at all."""
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "q"\n')
    res = tt("intake", "list", cwd=git_repo)
    assert res.returncode == 0 and res.stdout.startswith("No [[intake]] in ")
    assert '[[intake]] name = "todo" kind = "queue"' in res.stdout
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "q"\n[[intake]]\nname = "todo"\nkind = "queue"\n')
    assert tt("intake", "list", cwd=git_repo).stdout.strip() == "No open work items."


def test_usage_by_workspace_refuses_flags_it_would_ignore(tt, git_repo):
    """`tt usage --by agent --by-workspace` printed the one-workspace breakdown and silently
    dropped --by-workspace (and `--by-workspace --agent A` dropped --agent)."""
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "u"\n')
    for args in (("--by", "agent", "--by-workspace"), ("--by-workspace", "--agent", "a"), ("-p", "x", "--until", "1d")):
        res = tt("usage", *args, cwd=git_repo)
        assert res.returncode == 2, args
        assert res.stderr.startswith("error[usage]: --by-workspace/-p cannot be combined with --by, --until or --agent")
    assert tt("usage", "--by-workspace", "--since", "7d", cwd=git_repo).returncode == 0


def test_permissions_check_keeps_a_quoted_argument_one_word(tt, tmp_path, tutti_home):
    """README: `git commit -m "a; b"` is not split. Typed as `tt permissions check git commit -m
    "a; b"` the words were joined bare and 'b' was blocked as a second command."""
    (tutti_home / "config.toml").write_text('[permissions]\nallow = ["git commit", "git status"]\n')
    res = tt("permissions", "check", "git", "commit", "-m", "a; b", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stdout
    assert json.loads(res.stdout)["allowed"] is True
    # an operator typed as its own (quoted) word is still an operator; one string is a line as written
    assert tt("permissions", "check", "git", "status", "&&", "rm", "-rf", "x", cwd=tmp_path).returncode == 1
    assert tt("permissions", "check", "git status; rm -rf x", cwd=tmp_path).returncode == 1


def test_watch_counts_a_failed_runs_steps_as_runs_list_does(tt, git_repo):
    """A strict run failing on its 2nd of 2 steps: `tt runs list` said 1/2, `tt watch` drew a
    full bar and 2/2."""
    (git_repo / "tutti.toml").write_text(
        '[workspace]\nname = "w"\n[[workflow]]\nname = "verify"\n'
        '[[workflow.step]]\ntype = "command"\nrun = "true"\nidempotent = true\n'
        '[[workflow.step]]\ntype = "command"\nrun = "exit 3"\nidempotent = true\n')
    assert tt("run", "verify", "--strict", cwd=git_repo).returncode == 1
    listed = json.loads(tt("runs", "list", "--json", cwd=git_repo).stdout)[0]
    watched = json.loads(tt("watch", "--once", "--json", cwd=git_repo).stdout)["runs"][0]
    assert (listed["steps_done"], listed["steps_total"]) == (1, 2)
    assert (watched["steps_done"], watched["steps_total"]) == (1, 2)


def test_telemetry_status_when_off_says_how_to_turn_it_on(tt, git_repo):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "t"\n')
    res = tt("telemetry", "status", cwd=git_repo, env={"OTEL_EXPORTER_OTLP_ENDPOINT": ""})
    assert res.returncode == 0 and res.stdout.startswith("telemetry: off")
    assert "set [observe] otel = true" in res.stdout and "tt telemetry export --endpoint URL" in res.stdout


def test_an_api_direct_agent_in_the_team_does_not_break_tt_up(tt, fake_workspace):
    """README's `fixer` (provider, no runtime) beside CLI agents: `tt up` failed for the whole
    team with "agent 'fixer' has no runtime … add runtime = "claude-code"", and `tt send fixer`
    gave the same wrong advice instead of pointing at --direct."""
    root = fake_workspace([{"name": "api"}])
    toml = root / "tutti.toml"
    text = toml.read_text().replace('[defaults]\nruntime = "fake"\n', "")  # (a [defaults] runtime would apply to fixer too)
    toml.write_text(text.replace('name = "api"\n', 'name = "api"\nruntime = "fake"\n')
                    + '\n[[agent]]\nname = "fixer"\nprovider = "anthropic"\nmodel = "claude-sonnet-4-5"\n'
                      'api_key_env = "ANTHROPIC_API_KEY"\nworktree = false\n')
    try:
        up = tt("up", cwd=root, timeout=90)
        assert up.returncode == 0, up.stderr
        assert "skip fixer (API-direct: tt send fixer --direct)" in up.stdout + up.stderr
        assert "tutti-demo-api" in up.stdout
        named = tt("up", "fixer", cwd=root)
        sent = tt("send", "fixer", "hello", cwd=root)
    finally:
        tt("down", "--all", cwd=root)
    assert named.returncode == 2 and named.stderr.startswith("error[usage]: agent 'fixer' is an API-direct agent")
    assert sent.returncode == 2 and "tt send fixer --direct" in sent.stderr and "add runtime" not in sent.stderr
