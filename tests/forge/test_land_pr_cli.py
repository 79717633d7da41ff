"""`tt land AGENT --pr` as a user runs it, against the scripted forge: push, PR, merge gate."""

from __future__ import annotations

import json

from tests.conftest import git

from tutti.forge.github import GitHub
from tutti.sessions import worktree
from tutti.workspace import load_workspace_at


def _setup(git_repo, forge):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "demo"\n[gate]\nkind = "github"\n'
                                         '[defaults]\nruntime = "fake"\n[[agent]]\nname = "a"\n')
    exclude = git_repo / ".git/info/exclude"
    exclude.write_text(exclude.read_text() + "tutti.toml\n")
    ws = load_workspace_at(git_repo)
    worktree.prepare(ws.root, ws.state_dir, "a", "tutti/a")
    git(git_repo, "remote", "add", "origin", forge.create_repo("acme/demo")["clone_url"])
    git(git_repo, "push", "-q", "origin", "main")
    wt = ws.worktree_path("a")
    (wt / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    git(wt, "add", "calc.py")
    git(wt, "commit", "-qm", "feat: add")
    return ws


def test_land_pr_with_gate_opens_the_pr_then_blocks_until_checks_are_green(git_repo, forge, tt):
    _setup(git_repo, forge)
    env = {"TT_ENFORCE_MERGE_GATE": "1"}
    gh = GitHub("acme/demo")
    gh.http.request("PUT", "/repos/acme/demo/branches/main/protection",
                    json={"required_status_checks": {"strict": False, "contexts": ["ci"]}})
    first = tt("land", "a", "--pr", cwd=git_repo, env=env)
    assert first.returncode != 0
    assert first.stderr.startswith("error[gate]: merge gate blocked: required checks are not green for PR #1 (ci: expected)")
    pr = gh.get_pr(1)
    assert (pr.head, pr.base, pr.state) == ("tutti/a", "main", "open")
    gh.create_check_run(pr.head_sha, "ci", "success")
    second = tt("land", "a", "--pr", "--json", cwd=git_repo, env=env)
    assert second.returncode == 0, second.stderr
    out = json.loads(second.stdout)
    assert out["pr_number"] == 1 and out["pr_url"] == f"{forge.url}/acme/demo/pull/1"
    assert out["gate_message"].startswith("Merge gate passed for PR #1 on branch 'tutti/a'")
    assert sum(1 for r in forge.requests(r"/pulls$") if r["method"] == "POST") == 1  # one PR, reused


def test_land_pr_rides_out_5xx_and_secondary_rate_limit(git_repo, forge, tt):
    _setup(git_repo, forge)
    forge.fail("5xx", times=2, path=r"/pulls$")
    forge.fail("rate_limit", times=1, retry_after=2, path=r"/pulls$")
    res = tt("land", "a", "--pr", "--json", cwd=git_repo, env={"TT_ENFORCE_MERGE_GATE": "1"})
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["pr_number"] == 1
    statuses = [r["status"] for r in forge.requests(r"/pulls$")]
    assert statuses[:3] == [502, 502, 403] and statuses[3] == 200
    retried = [r["ts"] for r in forge.requests(r"/pulls$")]
    assert retried[3] - retried[2] >= 1.9  # waited what Retry-After asked


def test_land_pr_with_a_rejected_token_is_one_line(git_repo, forge, tt):
    _setup(git_repo, forge)
    forge.add_token("the-real-token", "octo")  # the env's token is no longer accepted
    res = tt("land", "a", "--pr", cwd=git_repo)
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert lines[0].startswith("error[gate]: branch tutti/a was pushed, but no PR was opened: GitHub GET")
    assert "HTTP 401" in lines[0] and "token was rejected" in lines[1] and "Traceback" not in res.stderr


def test_github_table_points_gate_and_land_at_the_forge_without_env(git_repo, forge, tt, monkeypatch):
    ws = _setup(git_repo, forge)
    monkeypatch.delenv("GITHUB_API_URL")
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("MY_FORGE_TOKEN", "forge-test-token")
    toml = (git_repo / "tutti.toml").read_text()
    (git_repo / "tutti.toml").write_text(toml + f'[github]\napi_url = "{forge.url}"\nrepo = "acme/demo"\ntoken_env = "MY_FORGE_TOKEN"\n')
    res = tt("land", "a", "--pr", "--json", cwd=ws.root, env={"TT_ENFORCE_MERGE_GATE": "1"})
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["gate_message"].startswith("Merge gate passed for PR #1")
