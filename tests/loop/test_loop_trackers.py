"""Pluggable intake in the loop: Linear and Jira issues (the scripted forge's doubles) are
claimed, merged and moved to Done by the same loop, side by side."""

from __future__ import annotations

import json

from tests.loop.conftest import git, instant_workspace


def test_linear_and_jira_items_flow_through_one_loop(git_repo, forge, tt, monkeypatch):
    monkeypatch.setenv("LINEAR_API_KEY", "lin-test")
    monkeypatch.setenv("JIRA_API_TOKEN", "jira-test")
    monkeypatch.setenv("JIRA_EMAIL", "bot@example.com")
    root = instant_workspace(git_repo, lanes=2)
    toml = root / "tutti.toml"
    toml.write_text(toml.read_text().replace(
        '[[intake]]\nname = "q"\nkind = "queue"\n',
        f'[[intake]]\nname = "eng"\nkind = "linear"\nteam = "ENG"\napi_url = "{forge.url}/linear/graphql"\n\n'
        f'[[intake]]\nname = "proj"\nkind = "jira"\nproject = "PROJ"\napi_url = "{forge.url}/jira"\n'))
    with forge.lock:
        forge.linear.add_issue("ENG", "add mod eng")
        forge.jira.add_issue("PROJ", "add mod proj")
        forge.save()
    res = tt("loop", "--once", "--json", cwd=root, timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr
    report = json.loads(res.stdout)
    assert report["merged"] == 2
    assert sorted(i["key"].split(":")[0] for i in report["items"]) == ["jira", "linear"]
    tree = set(git(root, "ls-tree", "--name-only", "main").split())
    assert {"mod_ENG-1.py", "mod_PROJ-1.py"} <= tree
    assert [i["state"] for i in forge.linear.data["issues"].values()] == ["Done"]
    assert [i["status"] for i in forge.jira.data["issues"].values()] == ["Done"]
