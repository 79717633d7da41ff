"""`tt approvals list|approve|deny` over the store's approvals table, as a user runs them."""

from __future__ import annotations

import json

from tutti.ops.approvals import request
from tutti.workspace import load_workspace_at


def _ws(git_repo):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "apv"\n')
    return load_workspace_at(git_repo)


def test_pending_merge_approval_is_listed_then_approved(git_repo, tt):
    ws = _ws(git_repo)
    request(ws, "run-1", "merge", {"item": "github:o/r#3", "pr": 7}, approval_id="ap_one")
    request(ws, "run-2", "shell", {"command": "rm -rf build"}, approval_id="ap_two")
    listed = tt("approvals", "list", "--json", cwd=git_repo)
    assert listed.returncode == 0, listed.stderr
    assert [a["approval_id"] for a in json.loads(listed.stdout)] == ["ap_one", "ap_two"]
    plain = tt("approvals", "list", cwd=git_repo)
    assert "ap_one" in plain.stdout and "merge" in plain.stdout

    done = tt("approvals", "approve", "ap_one", "--reason", "looks right", cwd=git_repo)
    assert done.returncode == 0, done.stderr
    assert "Approved ap_one" in done.stdout
    denied = tt("approvals", "deny", "ap_two", "--json", cwd=git_repo)
    assert json.loads(denied.stdout)["status"] == "denied"

    assert json.loads(tt("approvals", "list", "--json", cwd=git_repo).stdout) == []
    every = json.loads(tt("approvals", "list", "--all", "--json", cwd=git_repo).stdout)
    assert {a["approval_id"]: a["status"] for a in every} == {"ap_one": "approved", "ap_two": "denied"}
    decided = ws.store.read_events(kinds=["direct.approval.decided"])
    assert [e.data["by"] for e in decided] == ["cli", "cli"]


def test_deciding_twice_or_an_unknown_id_is_one_clear_error(git_repo, tt):
    ws = _ws(git_repo)
    request(ws, "run-1", "merge", {"pr": 1}, approval_id="ap_x")
    assert tt("approvals", "approve", "ap_x", cwd=git_repo).returncode == 0
    again = tt("approvals", "deny", "ap_x", cwd=git_repo)
    assert again.returncode != 0 and "already decided" in again.stderr and "Traceback" not in again.stderr
    missing = tt("approvals", "approve", "ap_nope", cwd=git_repo)
    assert missing.returncode != 0 and missing.stderr.startswith("error[") and "ap_nope" in missing.stderr
