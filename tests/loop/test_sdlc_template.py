"""`tt init --template sdlc`: six agents, a [loop] and its workflow; with runtime = "fake" the
whole loop runs — an item is planned, built, checked, merged and closed."""

from __future__ import annotations

import json

from tests.loop.conftest import git

ROLES = {"planner", "conductor", "implementer", "tester", "docs-release", "reviewer"}


def test_sdlc_template_declares_the_six_roles_and_plans(git_repo, tt):
    res = tt("init", "--template", "sdlc", cwd=git_repo)
    assert res.returncode == 0, res.stderr
    from tutti.workspace import load_workspace_at

    ws = load_workspace_at(git_repo)
    assert {a.name for a in ws.config.agents} == ROLES
    assert ws.config.loop is not None and ws.config.loop.workflow == "sdlc"
    plan = tt("run", "sdlc", "--dry-run", "--json", cwd=git_repo)
    assert plan.returncode == 0, plan.stderr
    assert [s["agent"] for s in json.loads(plan.stdout)["steps"]] == ["planner", "tester", "implementer", "implementer"]


def test_sdlc_template_runs_the_loop_on_fake_agents(git_repo, tt, tmux_socket):
    assert tt("init", "--template", "sdlc", cwd=git_repo).returncode == 0
    toml = git_repo / "tutti.toml"
    text = toml.read_text().replace('runtime = "claude-code"', 'runtime = "fake"', 1)
    toml.write_text(text)
    exclude = git_repo / ".git" / "info" / "exclude"
    exclude.write_text(exclude.read_text() + "tutti.toml\n.gitignore\n")
    assert tt("queue", "add", "Add a changelog", "--body", "keep it short", cwd=git_repo).returncode == 0
    res = tt("loop", "--once", "--lanes", "1", "--json", cwd=git_repo, timeout=400)
    assert res.returncode == 0, res.stdout + res.stderr
    [item] = json.loads(res.stdout)["items"]
    assert item["status"] == "merged", item
    runs = json.loads(tt("runs", "list", "--json", cwd=git_repo).stdout)
    mine = [r for r in runs if r["workflow"].startswith("sdlc@")]
    assert mine and mine[0]["status"] == "succeeded"
    assert json.loads(tt("queue", "list", "--json", cwd=git_repo).stdout) == []
    assert git(git_repo, "status", "--porcelain").strip() == ""
