"""`share_home = true`: the runtime uses the user's own config (and logins). Tutti only marks
the worktree trusted there — and still finds the agent's token usage, under the directory name
Claude Code itself derives from the worktree path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import script_for, up_to_idle

pytestmark = [pytest.mark.real_runtime, pytest.mark.slow]


def test_claude_with_the_users_home_runs_and_its_usage_is_attributed(real_workspace, tmp_path):
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    # What a user who has used Claude Code before already has; Tutti must keep it.
    (user_home / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "theme": "dark", "userID": "the-users-own-id",
        "projects": {"/some/other/project": {"hasTrustDialogAccepted": True}},
    }))
    ws = real_workspace("claude-code", script_for("claude-code"), agent_keys="share_home = true\n",
                        env={"HOME": str(user_home)})
    # Constrained mode (Claude's dontAsk + a generated allow list). Bypass mode would raise
    # Claude's own "Bypass Permissions mode" warning, which Tutti does not accept in the user's
    # config on their behalf.
    config = Path(ws.env["TUTTI_HOME"]) / "config.toml"
    config.write_text(config.read_text() + '\n[permissions]\nallow = ["Write", "Read", "git status"]\n')
    up_to_idle(ws, "--mode", "auto")
    ws.ok("send", "agent", "--wait", "--idle-stable-secs", "2", "--timeout-secs", "120",
          "Create hello.txt with a greeting, then say DONE", timeout=180)
    assert (ws.worktree / "hello.txt").exists()

    assert not (ws.root / ".tutti" / "homes" / "agent" / ".claude").exists()  # no isolated home
    config = json.loads((user_home / ".claude.json").read_text())
    assert config["userID"] == "the-users-own-id"
    assert config["projects"]["/some/other/project"] == {"hasTrustDialogAccepted": True}
    assert config["projects"][str(ws.worktree.resolve())]["hasTrustDialogAccepted"] is True
    projects = [p.name for p in (user_home / ".claude" / "projects").iterdir()]
    from tutti.usage.claude_code import encode_project_dir

    assert encode_project_dir(ws.worktree.resolve()) in projects  # our encoding = Claude's own

    usage = json.loads(ws.ok("usage", "--json").stdout)
    row = next(a for a in usage["agents"] if a["agent"] == "agent")
    assert row["input_tokens"] >= 2500 and row["cache_read_tokens"] >= 500 and row["output_tokens"] >= 47, row
