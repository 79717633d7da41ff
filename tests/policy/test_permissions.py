"""Allow rules match every simple command of a line, not just its prefix (inventory §9.4 fix)."""

from __future__ import annotations

import json

import pytest

from tutti.policy.commandline import UnparseableCommand, split_commands
from tutti.policy.permissions import (
    check_command,
    export_claude_settings,
    policy_appendix,
    rule_matches,
    shell_rules,
    write_claude_settings,
)


def test_compound_line_is_blocked_when_any_part_is_not_allowed():
    d = check_command("git status && rm -rf x", ["git status"])
    assert not d.allowed
    assert d.suggested_rule == "rm -rf"
    assert "rm -rf x" in d.reason
    assert [p.allowed for p in d.parts] == [True, False]


def test_pipeline_needs_both_sides_allowed():
    assert not check_command("cat f | sh", ["cat *"]).allowed
    d = check_command("cat f | grep x", ["cat *", "grep *"])
    assert d.allowed
    assert d.matched_rules == ["cat *", "grep *"]


@pytest.mark.parametrize("line", [
    "git status; rm -rf x", "git status || rm -rf x", "git status & rm -rf x",
    "git status\nrm -rf x", "git status |& rm -rf x", "git status $(rm -rf x)",
    "git status `rm -rf x`", 'git status "$(rm -rf x)"', "(rm -rf x)", "git status <(rm -rf x)",
    "{ rm -rf x; }",
])
def test_every_separator_and_subshell_is_checked(line):
    assert not check_command(line, ["git status"]).allowed


def test_quoted_separators_do_not_split():
    assert split_commands("echo 'a; b && c' | wc -l") == ["echo 'a; b && c'", "wc -l"]
    assert check_command('git commit -m "fix; then && more"', ["git commit *"]).allowed
    assert check_command("echo 'rm -rf x; $(boom)'", ["echo *"]).allowed


def test_redirection_ampersand_is_not_a_separator():
    assert split_commands("make test 2>&1 | tee log") == ["make test 2>&1", "tee log"]
    assert split_commands("cargo build &> out.txt") == ["cargo build &> out.txt"]


def test_unbalanced_quotes_are_refused_not_guessed():
    with pytest.raises(UnparseableCommand):
        split_commands("echo 'oops")
    d = check_command('echo "oops', ["echo *"])
    assert not d.allowed and "cannot be parsed" in d.reason


def test_rule_forms():
    assert rule_matches("git status", "git status")
    assert rule_matches("git status", "git  status   --short")
    assert not rule_matches("git status", "git statusx")
    assert rule_matches("cargo test *", "cargo test --all")
    assert rule_matches("cargo test *", "cargo test")
    assert not rule_matches("cargo test *", "cargo testing")


def test_no_policy_allows_and_says_so():
    d = check_command("rm -rf /", None)
    assert d.allowed and not d.policy_configured


def test_tool_entries_are_not_shell_rules_but_bash_inner_is():
    rules = ["Read", "Edit", "WebFetch(domain:example.com)", "Bash(npm test)", "Bash(git diff:*)", "make"]
    assert shell_rules(rules) == ["npm test", "git diff *", "make"]
    assert shell_rules(["git status"], runtime="codex") == ["git status", "apply_patch *"]
    assert check_command("npm test", rules).allowed
    assert not check_command("Read", ["Read"]).allowed


def test_claude_settings_export_wraps_shell_rules(tmp_path):
    rules = ["Read", "git status", "Bash(npm test)"]
    assert export_claude_settings(rules) == {"permissions": {"allow": ["Read", "Bash(git status)", "Bash(npm test)"]}}
    path = write_claude_settings(tmp_path, "backend", rules)
    assert path == tmp_path / "runtime-settings" / "backend-claude-settings.json"
    assert json.loads(path.read_text())["permissions"]["allow"][1] == "Bash(git status)"


def test_policy_appendix_lists_rules():
    text = policy_appendix("Codex", ["git status", "cargo test *"])
    assert text.startswith("Tutti policy constraints for Codex:\nOnly execute Bash commands matching")
    assert "- git status\n- cargo test *" in text
    assert text.endswith("Commands outside policy are blocked by Tutti shell shims.")
