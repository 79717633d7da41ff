"""The scripted forge as its own process and the GitHub client's failure handling against it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import httpx
import pytest
from tests.conftest import git

from tutti.errors import ForgeError
from tutti.forge.github import GitHub
from tutti.forge.http import ForgeHTTPError


def test_module_entry_point_serves_and_keeps_state_across_restarts(tmp_path):
    root = tmp_path / "forge"

    def start():
        proc = subprocess.Popen([sys.executable, "-m", "tutti.testing.forge", "--root", str(root), "--port", "0",
                                 "--repo", "acme/app"], stdout=subprocess.PIPE, text=True)
        return proc, proc.stdout.readline().strip()

    proc, url = start()
    try:
        assert url.startswith("http://127.0.0.1:")
        auth = {"Authorization": "Bearer t"}
        r = httpx.post(url + "/repos/acme/app/issues", json={"title": "kept"}, headers=auth)
        assert r.status_code == 201 and r.json()["number"] == 1
        assert httpx.get(url + "/repos/acme/app/issues").status_code == 401  # no token
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    proc, url = start()
    try:
        issues = httpx.get(url + "/repos/acme/app/issues", headers={"Authorization": "token t"}).json()
        assert [i["title"] for i in issues] == ["kept"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert json.loads((root / "forge.json").read_text())["github"]["repos"]["acme/app"]["issues"]["1"]["title"] == "kept"


def test_pr_merge_is_a_real_git_merge_and_conflicts_are_refused(forge, git_repo):
    meta = forge.create_repo("acme/app")
    git(git_repo, "remote", "add", "origin", meta["clone_url"])
    git(git_repo, "push", "-q", "origin", "main")
    for branch, text in (("a", "from a\n"), ("b", "from b\n")):
        git(git_repo, "checkout", "-q", "-b", branch, "main")
        (git_repo / "README.md").write_text(text)
        git(git_repo, "commit", "-qam", f"change {branch}")
        git(git_repo, "push", "-q", "origin", branch)
    gh = GitHub("acme/app")
    pr_a, pr_b = gh.create_pr("a", "main", "A"), gh.create_pr("b", "main", "B")
    assert gh.http.request("GET", f"/repos/acme/app/pulls/{pr_b.number}")["mergeable"] is True
    sha = gh.merge_pr(pr_a.number)
    assert gh.http.request("GET", f"/repos/acme/app/pulls/{pr_b.number}")["mergeable"] is False  # now conflicts
    git(git_repo, "fetch", "-q", "origin")
    assert git(git_repo, "rev-parse", "origin/main").strip() == sha
    assert git(git_repo, "show", "origin/main:README.md") == "from a\n"
    assert git(git_repo, "log", "-1", "--format=%P", "origin/main").split()[1] == git(git_repo, "rev-parse", "a").strip()
    with pytest.raises(ForgeHTTPError) as info:
        gh.merge_pr(pr_b.number)  # both edited README.md
    assert info.value.status == 405 and "conflict" in info.value.message.lower()
    assert gh.get_pr(pr_a.number).merged and not gh.get_pr(pr_b.number).merged


def test_client_retries_a_slow_forge_after_its_timeout(forge):
    forge.create_repo("acme/app")
    forge.fail("slow", times=1, delay=3, path="/repos/acme/app$")
    gh = GitHub("acme/app", timeout=0.5)
    assert gh.http.request("GET", "/repos/acme/app")["full_name"] == "acme/app"
    assert gh.http.retries == 1


def test_rate_limit_longer_than_max_wait_is_one_clear_error(forge):
    forge.create_repo("acme/app")
    forge.fail("rate_limit", times=0, retry_after=120, path="/issues")
    gh = GitHub("acme/app", max_wait=5)
    with pytest.raises(ForgeHTTPError) as info:
        gh.list_issues()
    assert info.value.status == 403 and "secondary rate limit" in info.value.message
    assert "the server asks to wait 120s more" in info.value.message
    assert gh.http.waited == 0  # it did not sleep a wait it could never finish


def test_persistent_5xx_gives_up_after_retries(forge):
    forge.create_repo("acme/app")
    forge.fail("503", times=0, path="/issues")
    slept: list[float] = []
    gh = GitHub("acme/app", max_retries=3, sleep=slept.append)
    with pytest.raises(ForgeError, match=r"HTTP 503 .*after 3 retries"):
        gh.list_issues()
    assert len(slept) == 3 and slept[0] < slept[1] < slept[2]  # exponential backoff


def test_rejected_token_is_not_retried(forge):
    forge.create_repo("acme/app")
    forge.fail("401", times=1)
    gh = GitHub("acme/app")
    with pytest.raises(ForgeHTTPError) as info:
        gh.list_issues()
    assert info.value.status == 401 and "token was rejected" in info.value.hint
    assert len(forge.requests()) == 1


def test_branches_check_runs_and_thread_replies(forge, git_repo):
    meta = forge.create_repo("acme/app")
    git(git_repo, "remote", "add", "origin", meta["clone_url"])
    git(git_repo, "push", "-q", "origin", "main")
    git(git_repo, "checkout", "-q", "-b", "feat/x")
    (git_repo / "x.txt").write_text("x\n")
    git(git_repo, "add", "x.txt")
    git(git_repo, "commit", "-qm", "x")
    git(git_repo, "push", "-q", "origin", "feat/x")
    gh = GitHub("acme/app")
    gh.http.request("PUT", "/repos/acme/app/branches/main/protection", json={"required_status_checks": {"contexts": ["ci"]}})
    assert gh.required_checks("main") == ["ci"] and gh.required_checks("feat/x") is None
    assert gh.http.request("GET", "/repos/acme/app/branches/feat/x")["commit"]["sha"] == git(git_repo, "rev-parse", "HEAD").strip()
    pr = gh.create_pr("feat/x", "main", "X")
    run = gh.create_check_run(pr.head_sha, "ci", None)
    assert gh.check_states(pr.head_sha) == {"ci": "pending"}
    gh.http.request("PATCH", f"/repos/acme/app/check-runs/{run['id']}", json={"conclusion": "failure"})
    assert gh.check_states(pr.head_sha) == {"ci": "failure"}
    first = gh.http.request("POST", f"/repos/acme/app/pulls/{pr.number}/comments", json={"body": "why?", "path": "x.txt", "line": 1})
    gh.http.request("POST", f"/repos/acme/app/pulls/{pr.number}/comments/{first['id']}/replies", json={"body": "because"})
    (thread,) = gh.review_threads(pr.number)
    assert [c["body"] for c in thread["comments"]["nodes"]] == ["why?", "because"] and thread["isResolved"] is False
