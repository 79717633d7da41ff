"""`tt permissions check|suggest|export` through the real CLI and the global config file."""

from __future__ import annotations

import json

GLOBAL = """# my tutti settings — keep this comment
[permissions]
# rules I trust
allow = ["git status", "pytest *", "Read"]
"""

WORKFLOWS = """
[[workflow]]
name = "ci"
[[workflow.step]]
type = "command"
run = "git status && cargo build --release"
[[workflow.step]]
type = "workflow"
workflow = "lint"

[[workflow]]
name = "lint"
[[workflow.step]]
type = "command"
run = "ruff check ."
[[workflow.step]]
type = "command"
run = "pytest -q"
"""

LOOPS = """
[[workflow]]
name = "loop_a"
[[workflow.step]]
type = "workflow"
workflow = "loop_b"

[[workflow]]
name = "loop_b"
[[workflow.step]]
type = "workflow"
workflow = "loop_a"
"""


def setup(tutti_home, root, make_ws=None):
    (tutti_home / "config.toml").write_text(GLOBAL)
    (root / "tutti.toml").write_text('[workspace]\nname = "perm"\n' + WORKFLOWS)


def test_check_allows_a_matching_simple_command(tutti_home, git_repo, tt):
    setup(tutti_home, git_repo)
    res = tt("permissions", "check", "git", "status", "--json", cwd=git_repo)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["allowed"] and data["policy_configured"] and data["matched_rule"] == "git status"


def test_check_blocks_compound_command_when_any_part_is_not_allowed(tutti_home, git_repo, tt):
    setup(tutti_home, git_repo)
    res = tt("permissions", "check", "git status && rm -rf x", cwd=git_repo)
    assert res.returncode == 1
    assert res.stderr.startswith("error[policy]: blocked: git status && rm -rf x")
    assert "hint: add this allow rule: rm -rf" in res.stderr
    data = json.loads(tt("permissions", "check", "git status && rm -rf x", "--json", cwd=git_repo).stdout)
    assert data["allowed"] is False and data["suggested_rule"] == "rm -rf"


def test_check_records_decisions_in_the_workspace(tutti_home, git_repo, tt):
    setup(tutti_home, git_repo)
    tt("permissions", "check", "pytest", "-q", cwd=git_repo)
    lines = (git_repo / ".tutti" / "state" / "policy-decisions.jsonl").read_text().splitlines()
    record = json.loads(lines[-1])
    assert record["source"] == "permission_check" and record["allowed"] is True
    from tutti.workspace import load_workspace_at

    events = load_workspace_at(git_repo).store.read_events(kinds=["policy.decision"])
    assert events[-1].data["command"] == "pytest -q"


def test_check_without_policy_allows_and_says_so(git_repo, tt):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "perm"\n')
    res = tt("permissions", "check", "anything", "--json", cwd=git_repo)
    data = json.loads(res.stdout)
    assert res.returncode == 0 and data["allowed"] and not data["policy_configured"]
    assert "Permissions policy is not configured" in data["reason"]


def test_suggest_walks_nested_workflows(tutti_home, git_repo, tt):
    setup(tutti_home, git_repo)
    res = tt("permissions", "suggest", "ci", "--json", cwd=git_repo)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["total_commands"] == 3
    assert sorted(b["suggested_rule"] for b in data["blocked"]) == ["cargo build", "ruff check"]
    assert data["applied_rules"] == []


def test_suggest_apply_appends_rules_and_keeps_comments(tutti_home, git_repo, tt):
    setup(tutti_home, git_repo)
    res = tt("permissions", "suggest", "ci", "--apply", "--json", cwd=git_repo)
    assert sorted(json.loads(res.stdout)["applied_rules"]) == ["cargo build", "ruff check"]
    text = (tutti_home / "config.toml").read_text()
    assert "# my tutti settings — keep this comment" in text and "# rules I trust" in text
    again = json.loads(tt("permissions", "suggest", "ci", "--json", cwd=git_repo).stdout)
    assert again["blocked"] == []


def test_suggest_reports_cycles_and_unknown_workflows(tutti_home, git_repo, tt):
    setup(tutti_home, git_repo)
    res = tt("permissions", "suggest", "nope", cwd=git_repo)
    assert res.returncode != 0 and "workflow 'nope' not found" in res.stderr
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "perm"\n' + LOOPS)
    res = tt("permissions", "suggest", "loop_a", cwd=git_repo)
    assert res.returncode == 2 and "loop_a" in res.stderr and "loop_b" in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.splitlines()) == 2


def test_export_claude_settings_to_file(tutti_home, git_repo, tt, tmp_path):
    setup(tutti_home, git_repo)
    out = tmp_path / "settings.json"
    res = tt("permissions", "export", "--runtime", "claude", "--output", str(out), cwd=git_repo)
    assert res.returncode == 0, res.stderr
    allow = json.loads(out.read_text())["permissions"]["allow"]
    assert "Bash(git status)" in allow and "Read" in allow
    res = tt("permissions", "export", "--runtime", "codex", cwd=git_repo)
    assert res.returncode == 2 and "unsupported runtime 'codex'; supported: claude" in res.stderr


def test_newline_separated_command_is_checked_part_by_part():
    from tutti.ops.permissions import evaluate

    result = evaluate("git status\nrm -rf x", ["git status"])
    assert not result.allowed
    assert evaluate("git status", ["git status"]).allowed
