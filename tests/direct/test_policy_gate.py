"""The policy gate: every refusal is returned to the model as `POLICY DENIED: …` and recorded."""

from __future__ import annotations

import os
import threading
import time

import pytest

from tutti.ops.direct import decide_approval, pending_approvals, send_direct

from .conftest import api_profile, events


def _shell(cmd: str) -> dict:
    return {"name": "shell", "arguments": {"command": cmd}}


def _run(direct_ws, srv, calls: list[dict], agent_extra: str = "", usage: dict | None = None, **kw):
    turns = [{"tool_calls": [c], **({"usage": usage} if usage else {})} for c in calls]
    turns.append({"text": "done", **({"usage": usage} if usage else {})})
    srv.load({"turns": turns})
    ws = direct_ws(
        f'[[agent]]\nname = "bot"\nprovider = "main"\nworktree = false\n{agent_extra}\n',
        api_profile("main", srv),
    )
    return ws, send_direct(ws, "bot", "go", **kw)


def _decisions(ws, run_id):
    return [e.data for e in events(ws, run_id) if e.kind == "direct.policy_decision"]


def _tool_results(srv) -> list[str]:
    """What the model was told about each tool call (OpenAI `tool` messages, in order)."""
    last = srv.requests()[-1].body["messages"]
    return [m["content"] for m in last if m.get("role") == "tool"]


def test_tool_outside_allowed_tools_is_denied_and_recorded(direct_ws, model_server):
    srv = model_server()
    ws, result = _run(
        direct_ws,
        srv,
        [_shell("echo hi"), {"name": "read_file", "arguments": {"path": "README.md"}}],
        'allowed_tools = ["read_file", "grep"]',
    )
    assert result.ok
    d = _decisions(ws, result.run_id)
    assert [(x["tool"], x["decision"], x["rule"]) for x in d] == [
        ("shell", "deny", "allowed_tools"),
        ("read_file", "allow", "default"),
    ]
    results = _tool_results(srv)
    assert results[0].startswith("POLICY DENIED: tool 'shell' is not in allowed_tools")
    assert results[1] == "# demo\n"
    # Only allowed tools are offered to the model.
    assert {t["function"]["name"] for t in srv.requests()[0].body["tools"]} == {"read_file", "grep"}
    tool_events = [e.data for e in events(ws, result.run_id) if e.kind == "direct.tool_call"]
    assert tool_events[0]["denied"] and tool_events[0]["is_error"]


@pytest.mark.parametrize(
    "command",
    [
        "curl -s https://example.com",
        'bash -c "curl -s https://example.com"',
        "python3 -c 'import urllib.request; urllib.request.urlopen(\"http://example.com\")'",
        "echo start && sh -lc 'wget -q http://example.com'",
        "git push origin main",
    ],
)
def test_air_gapped_denies_network_commands(direct_ws, model_server, git_repo, command):
    srv = model_server()
    marker = git_repo / "ran.txt"
    ws, result = _run(
        direct_ws,
        srv,
        [_shell(command + f"; touch {marker}"), _shell("echo local-ok")],
        'network_boundary = "air-gapped"',
    )
    d = _decisions(ws, result.run_id)
    assert d[0]["decision"] == "deny" and d[0]["rule"] == "network_boundary"
    assert d[1]["decision"] == "allow"
    assert not marker.exists()  # the denied command never ran
    results = _tool_results(srv)
    assert results[0].startswith("POLICY DENIED: network_boundary is air-gapped")
    assert "local-ok" in results[1]


def test_write_outside_the_root_via_dotdot_is_denied(direct_ws, model_server, git_repo):
    srv = model_server()
    outside = git_repo.parent / "escaped.txt"
    ws, result = _run(
        direct_ws, srv, [{"name": "write_file", "arguments": {"path": "../escaped.txt", "content": "x"}}]
    )
    assert not outside.exists()
    d = _decisions(ws, result.run_id)
    assert d[0]["decision"] == "deny" and d[0]["rule"] == "workspace_boundary"
    assert "outside the agent root" in _tool_results(srv)[0]


def test_write_through_a_symlink_pointing_outside_is_denied(direct_ws, model_server, git_repo, tmp_path):
    srv = model_server()
    target_dir = tmp_path / "elsewhere"
    target_dir.mkdir()
    os.symlink(target_dir, git_repo / "link")
    ws, result = _run(
        direct_ws,
        srv,
        [
            {"name": "write_file", "arguments": {"path": "link/pwned.txt", "content": "x"}},
            {
                "name": "apply_patch",
                "arguments": {"patch": "--- /dev/null\n+++ b/link/p2.txt\n@@ -0,0 +1 @@\n+x\n"},
            },
        ],
    )
    assert list(target_dir.iterdir()) == []
    d = _decisions(ws, result.run_id)
    assert [x["rule"] for x in d] == ["workspace_boundary", "workspace_boundary"]
    assert all("symlink" in r for r in _tool_results(srv))


def test_budget_overrun_is_denied_then_the_run_stops(direct_ws, model_server):
    srv = model_server()
    # gpt-4o input $2.50/Mtok: 100k input tokens = $0.25 per call
    usage = {"input_tokens": 100_000, "output_tokens": 0}
    ws, result = _run(
        direct_ws, srv, [_shell("echo one"), _shell("echo two")], "budget_usd = 0.4", usage=usage
    )
    d = _decisions(ws, result.run_id)
    assert d[0]["decision"] == "deny" and d[0]["rule"] == "budget_usd"
    assert "budget_usd $0.4000 would be exceeded" in d[0]["reason"]
    assert result.status == "stopped" and result.stop_reason == "budget"
    assert len(srv.requests()) == 2  # no model call once the budget is spent
    assert result.totals["cost_usd"] == pytest.approx(0.5)


def test_requires_approval_waits_for_a_decision_row(direct_ws, model_server, git_repo):
    srv = model_server()
    decided: list[str] = []
    ws_holder: dict = {}

    def approver_thread():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(decided) < 2:
            ws = ws_holder.get("ws")
            for a in pending_approvals(ws) if ws else []:
                approve = a.args.get("command") == "echo approved-one"
                decide_approval(
                    ws, a.run_id, a.approval_id, approve, by="test", reason=None if approve else "nope"
                )
                decided.append(a.approval_id)
            time.sleep(0.05)

    from tutti.workspace import load_workspace_at

    srv.load(
        {
            "turns": [
                {"tool_calls": [_shell("echo approved-one")]},
                {"tool_calls": [_shell("echo denied-two")]},
                {"text": "done"},
            ]
        }
    )
    ws = direct_ws(
        '[[agent]]\nname = "bot"\nprovider = "main"\nworktree = false\nrequires_approval = ["shell"]\n',
        api_profile("main", srv),
    )
    ws_holder["ws"] = load_workspace_at(git_repo)  # a second connection, like another process
    t = threading.Thread(target=approver_thread, daemon=True)
    t.start()
    result = send_direct(ws, "bot", "go")
    t.join(5)
    assert result.ok and len(decided) == 2
    d = _decisions(ws, result.run_id)
    assert [(x["decision"], x["rule"]) for x in d] == [
        ("allow", "requires_approval"),
        ("deny", "requires_approval"),
    ]
    assert "nope" in d[1]["reason"]
    kinds = [e.kind for e in events(ws, result.run_id, "direct.approval")]
    assert kinds == ["direct.approval.requested", "direct.approval.decided"] * 2
    results = _tool_results(srv)
    assert "approved-one" in results[0] and results[1].startswith("POLICY DENIED")
    assert pending_approvals(ws) == []


def test_a_callback_approver_is_asked_with_the_call(direct_ws, model_server):
    srv = model_server()
    asked = []

    def approver(req):
        asked.append((req.tool, req.args))
        return "not today"

    ws, result = _run(direct_ws, srv, [_shell("echo hi")], "requires_approval = true", approver=approver)
    assert asked == [("shell", {"command": "echo hi"})]
    assert _decisions(ws, result.run_id)[0]["decision"] == "deny"
    assert "not today" in _tool_results(srv)[0]


def test_deciding_twice_is_refused(direct_ws, model_server):
    from tutti.direct import approvals
    from tutti.direct.policy import ApprovalRequest
    from tutti.errors import NotFoundError, UsageError

    srv = model_server()
    ws = direct_ws('[[agent]]\nname = "bot"\nprovider = "main"\n', api_profile("main", srv))
    approvals.request(ws.store, ApprovalRequest("appr_1", "run_x", "bot", "shell", {"command": "ls"}))
    assert decide_approval(ws, "run_x", "appr_1", True).status == "approved"
    with pytest.raises(UsageError):
        decide_approval(ws, "run_x", "appr_1", False)
    with pytest.raises(NotFoundError):
        decide_approval(ws, "run_x", "appr_missing", True)
