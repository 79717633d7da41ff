"""Acceptance: a direct run reads a file, writes a fix, runs the tests through the shell tool and
finishes — against the scripted model server over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import sys

from tutti.ops.direct import send_direct

from .conftest import SECRET, api_profile, commit_all, events

BUGGY = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def fix_script(test_cmd: str) -> dict:
    return {
        "turns": [
            {
                "text": "Let me look at calc.py.",
                "tool_calls": [{"name": "read_file", "arguments": {"path": "calc.py"}}],
                "usage": {"input_tokens": 1200, "output_tokens": 40, "cached_tokens": 300},
            },
            {
                "text": "add() subtracts; fixing.",
                "tool_calls": [{"name": "write_file", "arguments": {"path": "calc.py", "content": FIXED}}],
                "usage": {"input_tokens": 1400, "output_tokens": 60},
            },
            {
                "tool_calls": [{"name": "shell", "arguments": {"command": test_cmd}}],
                "usage": {"input_tokens": 1500, "output_tokens": 30},
            },
            {"text": "Fixed add(); the tests pass.", "usage": {"input_tokens": 1700, "output_tokens": 20}},
        ]
    }


def _setup(git_repo, direct_ws, srv, kind="openai", model="gpt-4o"):
    (git_repo / "calc.py").write_text(BUGGY)
    (git_repo / "test_calc.py").write_text(TEST)
    commit_all(git_repo, "buggy calc")
    return direct_ws(
        '[[agent]]\nname = "fixer"\nprovider = "main"\n', api_profile("main", srv, kind=kind, model=model)
    )


def _full_run(git_repo, direct_ws, model_server, kind: str, model: str):
    """`fix_script` end to end against provider `kind`: asserts the fix landed and every model
    call's token counts were recorded; returns (requests the server saw, model_call events)."""
    srv = model_server(fix_script("true"))
    ws = _setup(git_repo, direct_ws, srv, kind=kind, model=model)
    result = send_direct(ws, "fixer", "Fix it")
    assert result.ok and (ws.worktree_path("fixer") / "calc.py").read_text() == FIXED
    calls = [e.data for e in events(ws, result.run_id) if e.kind == "direct.model_call"]
    assert [c["input_tokens"] for c in calls] == [1200, 1400, 1500, 1700] and calls[0]["cached_tokens"] == 300
    return srv.requests(), calls


def test_direct_run_fixes_file_in_worktree_and_records_every_call(git_repo, direct_ws, model_server, tt):
    test_cmd = f"{sys.executable} -m pytest -q -p no:cacheprovider test_calc.py"
    srv = model_server(fix_script(test_cmd))
    ws = _setup(git_repo, direct_ws, srv)

    result = send_direct(ws, "fixer", "Fix the failing test in calc.py")

    assert result.status == "completed" and result.stop_reason == "end_turn"
    assert result.final_text == "Fixed add(); the tests pass."
    worktree = ws.worktree_path("fixer")
    assert (worktree / "calc.py").read_text() == FIXED
    assert (git_repo / "calc.py").read_text() == BUGGY  # the project root is untouched

    evs = events(ws, result.run_id)
    kinds = [e.kind for e in evs]
    assert kinds[0] == "direct.run.started" and kinds[-1] == "direct.run.completed"
    calls = [e.data for e in evs if e.kind == "direct.model_call"]
    assert [c["input_tokens"] for c in calls] == [1200, 1400, 1500, 1700]
    assert calls[0]["cached_tokens"] == 300
    assert all(c["cost_usd"] > 0 and c["priced"] and c["model"] == "gpt-4o" for c in calls)
    # gpt-4o: $2.50 in, $10 out, $1.25 cached per Mtok
    assert abs(calls[0]["cost_usd"] - (1200 * 2.5 + 40 * 10 + 300 * 1.25) / 1e6) < 1e-9
    tools = [e.data for e in evs if e.kind == "direct.tool_call"]
    assert [t["tool"] for t in tools] == ["read_file", "write_file", "shell"]
    assert tools[0]["result"] == BUGGY
    assert tools[2]["result"].startswith("exit code 0") and "1 passed" in tools[2]["result"]
    assert not any(t["is_error"] for t in tools)
    assert [e.data["decision"] for e in evs if e.kind == "direct.policy_decision"] == ["allow"] * 3

    run = ws.store.query("SELECT * FROM runs WHERE run_id = ?", (result.run_id,))[0]
    assert run["kind"] == "direct" and run["status"] == "succeeded"
    assert run["input_tokens"] == sum(c["input_tokens"] + c["cached_tokens"] for c in calls)
    assert run["output_tokens"] == sum(c["output_tokens"] for c in calls)
    assert abs(run["cost_usd"] - sum(c["cost_usd"] for c in calls)) < 1e-9

    # The model saw the file content as a tool result in its second request.
    second = srv.requests()[1].body
    assert any(m.get("role") == "tool" and m.get("content") == BUGGY for m in second["messages"])

    # tt replay prints the same sequence, from the store alone.
    out = tt("replay", result.run_id, cwd=git_repo)
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if ln[:6].strip().isdigit()]
    expected = [
        "run started",
        "model",
        "policy allow read_file",
        "tool read_file",
        "model",
        "policy allow write_file",
        "tool write_file",
        "model",
        "policy allow shell",
        "tool shell",
        "model",
        "run completed",
    ]
    assert len(lines) == len(expected)
    for line, want in zip(lines, expected):
        assert want in line, (want, line)
    as_json = json.loads(tt("replay", result.run_id, "--json", cwd=git_repo).stdout)
    assert [e["kind"] for e in as_json["entries"]] == [
        "start",
        "model",
        "decision",
        "tool",
        "model",
        "decision",
        "tool",
        "model",
        "decision",
        "tool",
        "model",
        "end",
    ]
    assert as_json["totals"]["model_calls"] == 4 and as_json["totals"]["tool_calls"] == 3
    assert abs(as_json["totals"]["cost_usd"] - round(run["cost_usd"], 6)) < 1e-6


def test_api_key_reaches_the_provider_but_never_the_store(git_repo, direct_ws, model_server):
    srv = model_server(fix_script("true"))
    ws = _setup(git_repo, direct_ws, srv)
    result = send_direct(ws, "fixer", "Fix it")
    assert result.ok
    assert all(r.api_key == SECRET for r in srv.requests())
    rows = ws.store.query("SELECT data FROM events UNION ALL SELECT params || coalesce(result, '') FROM runs")
    assert rows and not any(SECRET in row[0] for row in rows)


def test_auth_failure_error_is_redacted_even_when_the_provider_echoes_the_key(
    git_repo, direct_ws, model_server
):
    srv = model_server(fix_script("true"))
    srv.set_mode({"kind": "auth", "message": f"Incorrect API key provided: {SECRET}"})
    ws = _setup(git_repo, direct_ws, srv)
    result = send_direct(ws, "fixer", "Fix it")
    assert result.status == "failed"
    assert result.error["category"] == "provider" and "authentication failed" in result.error["message"]
    assert SECRET not in json.dumps(result.to_dict())
    assert "[REDACTED]" in result.error["message"]
    assert "TUTTI_TEST_KEY" in result.error["hint"]
    rows = ws.store.query("SELECT data FROM events")
    assert not any(SECRET in row[0] for row in rows)


def test_anthropic_provider_streams_a_full_run(git_repo, direct_ws, model_server):
    reqs, calls = _full_run(git_repo, direct_ws, model_server, "anthropic", "claude-sonnet-4-5")
    assert {r.protocol for r in reqs} == {"anthropic"} and all(r.body["stream"] for r in reqs)
    assert reqs[0].headers.get("anthropic-version") and reqs[0].body["tools"][0]["input_schema"]
    # tool results go back as tool_result blocks in a user message
    last_user = reqs[1].body["messages"][-1]
    assert last_user["role"] == "user" and last_user["content"][0]["type"] == "tool_result"
    assert calls[0]["provider"] == "anthropic" and calls[0]["cost_usd"] > 0


def test_openai_provider_asks_for_streamed_usage(git_repo, direct_ws, model_server):
    srv = model_server(fix_script("true"))
    ws = _setup(git_repo, direct_ws, srv)
    assert send_direct(ws, "fixer", "Fix it").ok
    body = srv.requests()[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert {t["function"]["name"] for t in body["tools"]} == {
        "read_file",
        "write_file",
        "apply_patch",
        "shell",
        "grep",
        "glob",
    }


def test_tt_send_direct_runs_the_loop_and_prints_cost(git_repo, direct_ws, model_server, tt):
    srv = model_server(fix_script("true"))
    _setup(git_repo, direct_ws, srv)
    out = tt("send", "fixer", "--direct", "Fix", "the", "bug", cwd=git_repo)
    assert out.returncode == 0, out.stderr
    assert "completed (end_turn)" in out.stdout and "4 model calls, 3 tool calls" in out.stdout
    assert "Fixed add(); the tests pass." in out.stderr  # streamed model text
    assert (
        "  → read_file calc.py (ok)" in out.stderr and "  → shell true (ok)" in out.stderr
    )  # live tool calls
    first_user = srv.requests()[0].body["messages"][1]
    assert first_user == {"role": "user", "content": "Fix the bug"}
    as_json = tt("send", "fixer", "--direct", "--json", "again", cwd=git_repo)
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["status"] == "completed"


def test_tt_send_direct_reports_provider_failure_as_one_line_error(git_repo, direct_ws, model_server, tt):
    srv = model_server(fix_script("true"))
    srv.set_mode("auth")
    _setup(git_repo, direct_ws, srv)
    out = tt("send", "fixer", "--direct", "Fix", cwd=git_repo)
    assert out.returncode == 1
    assert "error[provider]:" in out.stderr and "authentication failed" in out.stderr
    assert "Traceback" not in out.stderr and SECRET not in out.stderr + out.stdout


def test_a_run_reuses_one_keep_alive_connection(git_repo, direct_ws, model_server):
    for kind, model in (("openai", "gpt-4o"), ("anthropic", "claude-sonnet-4-5")):
        srv = model_server(fix_script("true"))
        ws = direct_ws(
            '[[agent]]\nname = "fixer"\nprovider = "main"\nworktree = false\n',
            api_profile("main", srv, kind=kind, model=model),
        )
        assert send_direct(ws, "fixer", "Fix it").ok
        assert len({r.client_port for r in srv.requests()}) == 1, kind


def test_openai_responses_provider_streams_a_full_run(git_repo, direct_ws, model_server):
    reqs, _ = _full_run(git_repo, direct_ws, model_server, "openai-responses", "gpt-5")
    assert {r.protocol for r in reqs} == {"openai_responses"} and all(r.body["stream"] for r in reqs)
    # the tool result goes back as a function_call_output item for the matching call
    second = reqs[1].body["input"]
    call = next(i for i in second if i.get("type") == "function_call")
    output = next(i for i in second if i.get("type") == "function_call_output")
    assert call["name"] == "read_file" and output["call_id"] == call["call_id"] and output["output"] == BUGGY


def test_gemini_provider_streams_a_full_run(git_repo, direct_ws, model_server):
    reqs, calls = _full_run(git_repo, direct_ws, model_server, "gemini", "gemini-2.5-pro")
    assert {r.protocol for r in reqs} == {"gemini"} and all(r.stream for r in reqs)
    assert reqs[0].path.endswith(":streamGenerateContent?alt=sse") and reqs[0].api_key == SECRET
    decl = reqs[0].body["tools"][0]["functionDeclarations"]
    assert "additionalProperties" not in json.dumps(decl)
    # the tool result goes back as a functionResponse named after its call
    last = reqs[1].body["contents"][-1]["parts"][0]["functionResponse"]
    assert last == {"name": "read_file", "response": {"output": BUGGY}}
    assert calls[0]["cost_usd"] > 0  # gemini-2.5-pro is in the price table


def test_consecutive_direct_sends_share_the_agent_worktree(git_repo, direct_ws, model_server):
    srv = model_server(
        {
            "turns": [
                {
                    "tool_calls": [
                        {"name": "write_file", "arguments": {"path": "notes.txt", "content": "first\n"}}
                    ]
                },
                {"text": "wrote"},
                {"tool_calls": [{"name": "read_file", "arguments": {"path": "notes.txt"}}]},
                {"text": "read"},
            ]
        }
    )
    ws = direct_ws(
        '[[agent]]\nname = "fixer"\nprovider = "main"\nfresh_worktree = true\n', api_profile("main", srv)
    )
    assert send_direct(ws, "fixer", "write notes").ok
    second = send_direct(ws, "fixer", "read notes")
    tool = next(e.data for e in events(ws, second.run_id) if e.kind == "direct.tool_call")
    assert tool["result"] == "first\n" and not tool["is_error"]
