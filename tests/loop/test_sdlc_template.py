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


def _sdlc_on_fake(git_repo, tt, implementer_script: dict | None = None) -> None:
    assert tt("init", "--template", "sdlc", cwd=git_repo).returncode == 0
    toml = git_repo / "tutti.toml"
    text = toml.read_text().replace('runtime = "claude-code"', 'runtime = "fake"', 1)
    if implementer_script is not None:
        script = git_repo.parent / "implementer.script.json"
        script.write_text(json.dumps(implementer_script))
        old = 'name = "implementer"\n'
        assert old in text
        text = text.replace(old, f'{old}env = {{ TUTTI_FAKE_SCRIPT = "{script}" }}\n', 1)
    toml.write_text(text)
    exclude = git_repo / ".git" / "info" / "exclude"
    exclude.write_text(exclude.read_text() + "tutti.toml\n.gitignore\n")
    assert tt("queue", "add", "Add a changelog", "--body", "keep it short", cwd=git_repo).returncode == 0


def test_sdlc_template_runs_the_loop_on_fake_agents(git_repo, tt, tmux_socket):
    """The implementer (scripted to commit, as a real one does) gets its item merged and closed."""
    _sdlc_on_fake(git_repo, tt, {"work_secs": 0.3, "rule": [
        {"match": "Implement the work item", "work_secs": 0.3,
         "write": [{"path": "CHANGELOG.md", "content": "# Changelog\n\n- Added a changelog.\n"}],
         "commit": "add a changelog", "reply": "Done."}]})
    tip = git(git_repo, "rev-parse", "main").strip()
    res = tt("loop", "--once", "--lanes", "1", "--json", cwd=git_repo, timeout=400)
    assert res.returncode == 0, res.stdout + res.stderr
    [item] = json.loads(res.stdout)["items"]
    assert item["status"] == "merged", item
    assert git(git_repo, "rev-list", "--count", f"{tip}..main").strip() == "1"
    assert "CHANGELOG.md" in git(git_repo, "ls-tree", "--name-only", "main").split()
    runs = json.loads(tt("runs", "list", "--json", cwd=git_repo).stdout)
    mine = [r for r in runs if r["workflow"].startswith("sdlc@")]
    assert mine and mine[0]["status"] == "succeeded"
    assert json.loads(tt("queue", "list", "--json", cwd=git_repo).stdout) == []
    assert git(git_repo, "status", "--porcelain").strip() == ""


def test_sdlc_template_unscripted_fake_implementer_commits_nothing_so_nothing_merges(git_repo, tt, tmux_socket):
    """The plain fake agent only answers: the run succeeds, but the item is `no_change` — not
    reported merged at the unchanged tip — and stays open with the reason."""
    _sdlc_on_fake(git_repo, tt)
    tip = git(git_repo, "rev-parse", "main").strip()
    res = tt("loop", "--once", "--lanes", "1", "--json", cwd=git_repo, timeout=400)
    assert res.returncode == 1, res.stdout + res.stderr
    [item] = json.loads(res.stdout)["items"]
    assert item["status"] == "no_change" and "made no commit" in item["message"], item
    assert git(git_repo, "rev-parse", "main").strip() == tip
    [open_item] = json.loads(tt("queue", "list", "--json", cwd=git_repo).stdout)
    assert open_item["state"] == "open" and open_item["loop"]["status"] == "no_change"
