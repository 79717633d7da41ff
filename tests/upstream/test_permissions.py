"""Port of the original's permission tests — `src/permissions/mod.rs` (@ c8cfff8) and
`src/cli/permissions.rs` (@ 812641c) — through `tt permissions check|export` and the global
config's `[permissions] allow`, as a user drives them."""

from __future__ import annotations

import json

import pytest


def allow(global_config, *rules: str) -> None:
    global_config("[permissions]\nallow = [" + ", ".join(json.dumps(r) for r in rules) + "]\n")


def check(tt, *command: str, cwd=None):
    res = tt("permissions", "check", *command, "--json", cwd=cwd)
    return res.returncode, json.loads(res.stdout)


def test_evaluate_command_policy_allows_when_policy_unset(tt, tmp_path):
    """upstream: src/permissions/mod.rs::tests::evaluate_command_policy_allows_when_policy_unset"""
    rc, d = check(tt, "git", "status", cwd=tmp_path)
    assert rc == 0
    assert d["allowed"] is True and d["policy_configured"] is False
    assert "not configured" in d["reason"]


def test_has_configured_policy_requires_non_empty_entries(global_config, tt, tmp_path):
    """upstream: src/permissions/mod.rs::tests::has_configured_policy_requires_non_empty_entries —
    an allow list of only blank entries is *no* policy (the command is allowed, not blocked)."""
    allow(global_config, "   ")
    rc, d = check(tt, "git", "status", cwd=tmp_path)
    assert (rc, d["allowed"], d["policy_configured"]) == (0, True, False), d
    allow(global_config, "git status")
    rc, d = check(tt, "git", "status", cwd=tmp_path)
    assert (rc, d["allowed"], d["policy_configured"]) == (0, True, True)


def test_evaluate_command_policy_blocks_when_rule_missing(global_config, tt, tmp_path):
    """upstream: src/permissions/mod.rs::tests::evaluate_command_policy_blocks_when_rule_missing"""
    allow(global_config, "git status")
    rc, d = check(tt, "git", "stash", cwd=tmp_path)
    assert rc == 1
    assert (d["allowed"], d["policy_configured"], d["suggested_rule"]) == (False, True, "git stash")
    res = tt("permissions", "check", "git", "stash", cwd=tmp_path)
    assert "add this allow rule: git stash" in res.stderr


def test_evaluate_command_policy_suggests_rule_from_first_two_tokens_only(global_config, tt, tmp_path):
    """upstream: src/permissions/mod.rs::tests::evaluate_command_policy_suggests_rule_from_first_two_tokens_only"""
    allow(global_config, "git status")
    _, d = check(tt, "cargo", "test", "--quiet", "--all", cwd=tmp_path)
    assert d["suggested_rule"] == "cargo test"


@pytest.mark.parametrize(("command", "rule"), [
    ("git status", "git status"), ("cargo test --quiet", "cargo test"), ("git stash", None),
    ("npm run build", "npm run *"), ("npm test", None), ("  cargo   test   --all ", "cargo test"),
])
def test_matching_rule_exact_prefix_and_wildcard(global_config, tt, tmp_path, command, rule):
    """upstream: src/permissions/mod.rs::tests::evaluate_command_policy_matches_prefix_rule,
    src/cli/permissions.rs::tests::matching_rule_supports_exact_and_prefix,
    src/cli/permissions.rs::tests::matching_rule_supports_wildcard_prefix,
    src/cli/permissions.rs::tests::normalize_compacts_whitespace"""
    allow(global_config, "git status", "cargo test", "npm run *")
    rc, d = check(tt, command, cwd=tmp_path)
    assert d["matched_rule"] == rule
    assert (rc == 0) == (rule is not None)
    assert d["command"] == " ".join(command.split())


def test_compound_command_needs_every_part_allowed(global_config, tt, tmp_path):
    """upstream: src/permissions/mod.rs::tests::evaluate_command_policy_matches_prefix_rule —
    deliberate improvement (inventory §12.9): the original's prefix match let `git status && rm -rf
    x` through under rule `git status`; ours checks every part of a compound command."""
    allow(global_config, "git status")
    rc, d = check(tt, "git status && rm -rf x", cwd=tmp_path)
    assert rc == 1 and d["allowed"] is False


def test_render_claude_settings_wraps_bash_and_preserves_tools(global_config, tt, tmp_path):
    """upstream: src/permissions/mod.rs::tests::render_claude_settings_wraps_bash_permissions,
    src/permissions/mod.rs::tests::render_claude_settings_preserves_tool_permissions,
    src/cli/permissions.rs::tests::render_claude_export_wraps_allow_entries_as_bash_permissions,
    src/cli/permissions.rs (@ 286d493)::tests::render_claude_settings_wraps_allow_entries_as_bash_permissions"""
    allow(global_config, "Edit", "Read", "Bash(git diff)", "git status", "cargo test --quiet")
    res = tt("permissions", "export", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    entries = json.loads(res.stdout)["permissions"]["allow"]
    assert entries == ["Edit", "Read", "Bash(git diff)", "Bash(git status)", "Bash(cargo test --quiet)"]
    out = tmp_path / "sub" / "settings.json"
    assert tt("permissions", "export", "--runtime", "claude-code", "--output", str(out), cwd=tmp_path).returncode == 0
    assert json.loads(out.read_text())["permissions"]["allow"] == entries


def test_render_export_rejects_unknown_runtime(tt, tmp_path):
    """upstream: src/cli/permissions.rs::tests::render_export_rejects_unknown_runtime"""
    res = tt("permissions", "export", "--runtime", "codex", cwd=tmp_path)
    assert res.returncode != 0
    assert "unsupported runtime 'codex'; supported: claude" in res.stderr


def test_shell_command_allow_rules_extracts_bash_and_plain_rules():
    """upstream: src/permissions/mod.rs::tests::shell_command_allow_rules_extracts_bash_and_plain_rules
    (the rules the shell shims enforce; codex additionally gets `apply_patch *`, see test_up.py)."""
    from tutti.policy.permissions import shell_rules

    assert shell_rules(["Read", "Edit", "Bash(git status)", "cargo test *", "   "]) == ["git status", "cargo test *"]


def test_evaluate_command_policy_suggests_single_token_rule(global_config, tt, tmp_path):
    """upstream: src/permissions/mod.rs (@ 11c9743)::tests::evaluate_command_policy_suggests_single_token_rule"""
    allow(global_config, "git status")
    _, d = check(tt, "make", cwd=tmp_path)
    assert d["suggested_rule"] == "make"


SUGGEST = """
[workspace]
name = "ws"

[[workflow]]
name = "child"

[[workflow.step]]
type = "command"
run = "echo nested"

[[workflow]]
name = "root"

[[workflow.step]]
type = "command"
run = "echo top"

[[workflow.step]]
type = "command"
run = "echo top"

[[workflow.step]]
type = "workflow"
workflow = "child"
"""


def test_suggest_reports_blocked_commands_including_nested_workflow(global_config, ws, tt_json):
    """upstream: src/cli/permissions.rs (@ 286d493)::tests::suggest_reports_blocked_commands_including_nested_workflow_and_deduplicates
    — that later version suggested `echo nested *`; the snapshot (inventory §9.4) and ours suggest
    the first two tokens, `echo nested`, which covers the same commands (a rule matches the
    command and anything after it at a word boundary)."""
    allow(global_config, "echo top")
    rc, d, err = tt_json("permissions", "suggest", "root", cwd=ws(SUGGEST))
    assert d is not None, err
    assert d["total_commands"] == 3
    assert [(b["command"], b["suggested_rule"]) for b in d["blocked"]] == [("echo nested", "echo nested")]


def test_suggest_apply_writes_global_permissions_and_json_shape_is_stable(global_config, ws, tt_json):
    """upstream: src/cli/permissions.rs (@ 286d493)::tests::suggest_apply_writes_global_permissions_and_json_shape_is_stable"""
    path = global_config("[permissions]\nallow = []\n")
    root = ws(SUGGEST.replace('run = "echo top"', 'run = "echo blocked"'))
    rc, d, err = tt_json("permissions", "suggest", "root", "--apply", cwd=root)
    assert d is not None, err
    assert d["workflow"] == "root" and d["total_commands"] == 3
    assert isinstance(d["blocked"], list) and d["applied_rules"] == ["echo blocked", "echo nested"]
    assert "echo blocked" in path.read_text()
