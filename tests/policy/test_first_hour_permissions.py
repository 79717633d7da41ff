"""Issue #11: `tt permissions suggest` proposes the narrowest rule (never an interpreter or launcher
alone), `tt permissions check` without a policy says so and fails like `tt up`, blank allow rules
are no policy, and check records carry the original's `action`/`decision` keys."""

from __future__ import annotations

import json

import pytest

from tutti.policy.permissions import check_command, rule_matches, suggest_rule

LAUNCHERS_ALONE = {"python -m", "python3 -m", "python", "bash -c", "sh -c", "bash", "npx", "uv run", "uvx",
                   "env", "sudo", "node", "poetry run", "npm exec", "timeout", "xargs", "nohup"}


@pytest.mark.parametrize("command, rule", [
    ("python -m pytest -q", "python -m pytest"),
    ("python3 -m pytest -q -n auto", "python3 -m pytest"),
    ("uv run pytest -q", "uv run pytest -q"),
    ("uv run python -m mypy src", "uv run python -m mypy"),
    ("npx eslint .", "npx eslint"),
    ("npm run lint -- --fix", "npm run lint"),
    ("env CI=1 npm test", "env CI=1 npm test"),
    ("rm -rf build", "rm -rf"),
    ("sudo apt-get install -y tmux", "sudo apt-get install"),
    ("poetry run pytest", "poetry run pytest"),
    ("cargo test --quiet", "cargo test"),
    ("go test ./...", "go test"),
    ("bash -c 'make all'", "bash -c 'make all'"),
    ("python -c 'import sys'", "python -c 'import sys'"),
])
def test_suggestion_is_the_narrowest_rule_covering_the_command(command, rule):
    suggested = suggest_rule(command)
    assert suggested == rule
    assert suggested not in LAUNCHERS_ALONE
    assert rule_matches(suggested, command)  # it really allows the command it was made for


def test_a_bare_launcher_gets_no_suggestion_at_all():
    assert check_command("npx", ["git status"]).suggested_rule is None


GLOBAL_RULES = '[permissions]\nallow = ["git status"]\n'
WORKFLOW = """[workspace]
name = "perm"

[[workflow]]
name = "verify"

[[workflow.step]]
type = "command"
run = "python -m pytest -q"
fail_mode = "closed"

[[workflow.step]]
type = "command"
run = "bash -c 'ruff check .'"
fail_mode = "closed"
"""


def test_permissions_suggest_for_python_m_pytest(tutti_home, git_repo, tt):
    (tutti_home / "config.toml").write_text(GLOBAL_RULES)
    (git_repo / "tutti.toml").write_text(WORKFLOW)
    data = json.loads(tt("permissions", "suggest", "verify", "--json", cwd=git_repo).stdout)
    assert [b["suggested_rule"] for b in data["blocked"]] == ["python -m pytest", "bash -c 'ruff check .'"]
    tt("permissions", "suggest", "verify", "--apply", cwd=git_repo)
    assert tt("permissions", "check", "python -m pytest -q", cwd=git_repo).returncode == 0
    blocked = tt("permissions", "check", "python -m http.server", cwd=git_repo)
    assert blocked.returncode == 1 and "error[policy]: blocked" in blocked.stderr


def test_check_without_policy_says_so_and_fails_like_tt_up(git_repo, tt):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "perm"\n')
    res = tt("permissions", "check", "git status && rm -rf x", cwd=git_repo)
    assert res.returncode == 1
    assert res.stderr.startswith("error[policy]: no permissions policy is configured")
    assert "hint:" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("allow", ['[]', '["", "   "]'])
def test_blank_allow_rules_are_no_policy(tutti_home, git_repo, tt, allow):
    (tutti_home / "config.toml").write_text(f"[permissions]\nallow = {allow}\n")
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "perm"\n')
    data = json.loads(tt("permissions", "check", "git", "status", "--json", cwd=git_repo).stdout)
    assert data["allowed"] is True and data["policy_configured"] is False


def test_check_records_carry_action_and_decision(tutti_home, git_repo, tt):
    (tutti_home / "config.toml").write_text(GLOBAL_RULES)
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "perm"\n')
    tt("permissions", "check", "git", "status", cwd=git_repo)
    tt("permissions", "check", "rm", "-rf", "x", cwd=git_repo)
    lines = (git_repo / ".tutti" / "state" / "policy-decisions.jsonl").read_text().splitlines()
    first, second = (json.loads(x) for x in lines[-2:])
    assert (first["action"], first["decision"], first["policy"]) == ("permission_check", "allow", "configured")
    assert (second["action"], second["decision"]) == ("permission_check", "block")
    assert first["workspace"] == "perm" and "timestamp" in first
