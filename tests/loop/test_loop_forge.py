"""The loop against the scripted forge: GitHub issues in, one PR per issue, merged through the
merge queue, issues closed with a comment linking the merge — real HTTP, git, tmux, fake agents."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest
from tests.loop.conftest import git

REPO = "acme/app"
INTAKE = ('[[intake]]\nname = "issues"\nkind = "github"\nrepo = "acme/app"\nlabels = ["agent-ready"]\n'
          'lease_ttl_secs = 30\n')
LOOP = ('[loop]\nworkflow = "build"\nlanes = {lanes}\nremote = "origin"\npr = true\nreviewers = ["ci", "bot"]\n'
        'poll_secs = 0.5\nmax_review_rounds = 2\n[loop.merge_queue]\nverify = ["python3 check.py"]\n')


@pytest.fixture
def forge_loop(loop_workspace, forge):
    def _make(lanes: int, titles: list[str]) -> tuple[Path, str]:
        root = loop_workspace(LOOP.format(lanes=lanes), intake_toml=INTAKE)
        meta = forge.create_repo(REPO)
        git(root, "remote", "add", "origin", meta["clone_url"])
        git(root, "push", "-q", "origin", "main")
        for title in titles:
            forge.create_issue(REPO, title, labels=["agent-ready"])
        return root, git(root, "rev-parse", "main").strip()

    return _make


def gh():
    from tutti.forge.github import GitHub

    return GitHub(REPO)


def bare(forge) -> Path:
    return Path(forge.create_repo(REPO)["clone_url"])


def verify_forge_main(forge, base: str) -> list[str]:
    """Every commit the loop put on the forge's main passes verify; returns them."""
    git_dir = bare(forge)
    shas = git(git_dir, "rev-list", f"{base}..main").split()
    for sha in shas:
        with_tree = git_dir.parent / f"check-{sha[:10]}"
        with_tree.mkdir()
        subprocess.run(f"git --git-dir={git_dir} archive {sha} | tar -x -C {with_tree}", shell=True, check=True)
        res = subprocess.run(["python3", "check.py"], cwd=with_tree, capture_output=True, text=True)
        assert res.returncode == 0, f"{sha} on main breaks verify: {res.stdout}"
    return shas


@pytest.mark.extended  # the 3-item loops in test_loop_local / the forge tests below are the default slice
def test_ten_issues_three_lanes_ten_merged_prs_each_issue_closed_once(forge_loop, forge, tt):
    titles = [f"{'broken' if n == 5 else 'add'} mod {n}" for n in range(1, 11)]  # #5 fails CI at first
    root, base = forge_loop(3, titles)
    res = tt("loop", "--once", "--json", cwd=root, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    report = json.loads(res.stdout)
    assert report["merged"] == 10 and report["failed"] == 0

    client = gh()
    issues = client.paginate(f"/repos/{REPO}/issues", {"state": "all"})
    issues = [i for i in issues if "pull_request" not in i]
    assert len(issues) == 10 and all(i["state"] == "closed" for i in issues)
    for issue in issues:
        marked = [c for c in client.comments(issue["number"]) if "tutti-loop item=" in c["body"]]
        assert len(marked) == 1 and "/commit/" in marked[0]["body"]  # closed exactly once, linking the merge
    prs = client.paginate(f"/repos/{REPO}/pulls", {"state": "all"})
    assert len(prs) == 10 and all(p["merged"] for p in prs)
    assert sorted(p["title"] for p in prs) == sorted(titles)

    # no item worked by two lanes: one lease, one run, one lane per item (store), one PR per issue (forge)
    from tutti.workspace import load_workspace_at

    ws = load_workspace_at(root)
    started = [e.data for e in ws.store.read_events(kinds=["loop.item.started"], limit=100)]
    assert len(started) == 10 and len({s["key"] for s in started}) == 10
    acquired = [e.data for e in ws.store.read_events(kinds=["lease.acquired"], limit=1000)
                if e.data["key"].startswith("github:")]
    assert sorted(a["key"] for a in acquired) == sorted(s["key"] for s in started)
    assert len({i["lane"] for i in report["items"]}) == 3  # all three lanes took work
    broken = next(i for i in report["items"] if i["key"].endswith("#5"))
    assert broken["rounds"] == 2 and len(broken["fix_runs"]) == 1  # sent back once, fixed, merged

    assert len(verify_forge_main(forge, base)) == 10  # one verified commit per merge
    assert set(titles) <= {t.strip() for t in git(bare(forge), "log", "--format=%s", "main").splitlines()
                           for t in [t.rsplit(" (#", 1)[0]]}


def test_forge_errors_and_rate_limits_mid_loop_are_waited_out(forge_loop, forge, tt):
    root, base = forge_loop(1, ["add mod 1", "add mod 2", "add mod 3"])
    from tutti.workspace import load_workspace_at

    ws = load_workspace_at(root)
    injected = threading.Event()

    def inject_after_first_merge() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if ws.store.read_events(kinds=["loop.item.landed"]):
                forge.fail("5xx", times=3)
                forge.fail("rate_limit", times=2, retry_after=1)
                injected.set()
                return
            time.sleep(0.1)

    t = threading.Thread(target=inject_after_first_merge, daemon=True)
    t.start()
    res = tt("loop", "--once", "--json", cwd=root, timeout=600)
    t.join(5)
    assert injected.is_set()
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert json.loads(res.stdout)["merged"] == 3
    statuses = [r["status"] for r in forge.requests()]
    assert statuses.count(403) >= 2 and sum(1 for s in statuses if s >= 500) >= 3
    client = gh()
    for n in (1, 2, 3):
        assert client.get_issue(n)["state"] == "closed"
        assert len([c for c in client.comments(n) if "tutti-loop item=" in c["body"]]) == 1
    assert len(verify_forge_main(forge, base)) == 3


def test_bot_review_thread_goes_back_to_the_author_and_is_resolved_before_merge(forge_loop, forge, tt):
    root, base = forge_loop(1, ["add mod 6"])
    toml = root / "tutti.toml"
    toml.write_text(toml.read_text().replace('reviewers = ["ci", "bot"]\n',
                                             'reviewers = ["ci", "bot"]\nbot_logins = ["coderabbitai"]\nbot_wait_secs = 60\n'))
    from tutti.workspace import load_workspace_at

    ws = load_workspace_at(root)

    def bot_reviews_first_pr() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            opened = ws.store.read_events(kinds=["loop.pr.opened"])
            if opened:
                number = opened[0].data["number"]
                from tutti.forge.github import GitHub

                GitHub(REPO, token="bot-token").review(number, "REQUEST_CHANGES", "nit", comments=[
                    {"path": "mod_6.py", "line": 1, "body": "Rename ok() to is_ok()? No: keep ok(), add a docstring."}])
                return
            time.sleep(0.05)

    forge.add_token("forge-test-token", "octo")
    forge.add_token("bot-token", "coderabbitai", "Bot")
    t = threading.Thread(target=bot_reviews_first_pr, daemon=True)
    t.start()
    res = tt("loop", "--once", "--json", cwd=root, timeout=600)
    t.join(5)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    [item] = json.loads(res.stdout)["items"]
    assert item["status"] == "merged"
    rounds = [e.data for e in ws.store.read_events(kinds=["loop.review.round"])]
    assert [r["verdict"] for r in rounds] == ["request_changes", "approve"]
    assert rounds[0]["findings"][0]["reviewer"] == "bot" and rounds[0]["findings"][0]["path"] == "mod_6.py"
    from tests.loop.conftest import prompts

    fix = [p for p in prompts(root, "implementer") if "requested changes" in p]
    assert len(fix) == 1 and "add a docstring" in fix[0]  # the bot's comment went to the author
    threads = gh().review_threads(item["pr"]["number"])
    assert threads and all(t["isResolved"] for t in threads)  # resolved once addressed, before the merge
    assert gh().get_pr(item["pr"]["number"]).merged


def test_a_failing_required_check_goes_back_to_the_author_and_the_green_head_merges(forge_loop, forge, tt):
    """Branch protection requires `build`; a CI bot fails each PR's first head and passes the
    next: the failure is a finding, the fix is pushed, and the PR merges with green checks."""
    root, base = forge_loop(1, ["add mod 7"])
    toml = root / "tutti.toml"
    toml.write_text(toml.read_text().replace('reviewers = ["ci", "bot"]', 'reviewers = ["ci"]'))
    client = gh()
    client.http.request("PUT", f"/repos/{REPO}/branches/main/protection",
                        json={"required_status_checks": {"strict": False, "contexts": ["build"]}})
    stop = threading.Event()

    def ci_bot() -> None:
        seen: dict[int, int] = {}
        bot = gh()
        while not stop.is_set():
            for pr in bot.paginate(f"/repos/{REPO}/pulls", {"state": "open"}):
                sha = pr["head"]["sha"]
                if sha and not bot.check_states(sha):
                    n = seen[pr["number"]] = seen.get(pr["number"], 0) + 1
                    bot.create_check_run(sha, "build", "failure" if n == 1 else "success")
            stop.wait(0.3)

    t = threading.Thread(target=ci_bot, daemon=True)
    t.start()
    try:
        res = tt("loop", "--once", "--json", cwd=root, timeout=600)
    finally:
        stop.set()
        t.join(5)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    [item] = json.loads(res.stdout)["items"]
    assert item["status"] == "merged" and item["rounds"] == 2
    from tutti.workspace import load_workspace_at

    rounds = [e.data for e in load_workspace_at(root).store.read_events(kinds=["loop.review.round"])]
    assert "required check 'build' is failure" in rounds[0]["findings"][0]["body"]
    pr = client.get_pr(item["pr"]["number"])
    assert pr.merged and client.check_states(pr.head_sha) == {"build": "success"}
    assert len(verify_forge_main(forge, base)) == 1
