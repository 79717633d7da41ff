"""Agent loop stop conditions and cost accounting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from tutti.direct.messages import Usage
from tutti.direct.pricing import PriceTable
from tutti.ops.direct import send_direct

from .conftest import api_profile, events


def _agent(extra: str = "") -> str:
    return f'[[agent]]\nname = "bot"\nprovider = "main"\nworktree = false\n{extra}\n'


def test_max_turns_stops_a_model_that_never_finishes(direct_ws, model_server):
    srv = model_server(
        {"turns": [], "fallback": {"tool_calls": [{"name": "glob", "arguments": {"pattern": "*"}}]}}
    )
    ws = direct_ws(_agent("max_turns = 3"), api_profile("main", srv))
    result = send_direct(ws, "bot", "loop forever")
    assert (result.status, result.stop_reason) == ("stopped", "max_turns")
    assert len(srv.requests()) == 3 and result.totals["tool_calls"] == 3
    assert events(ws, result.run_id)[-1].data["stop_reason"] == "max_turns"
    run = ws.store.query("SELECT status, result FROM runs WHERE run_id = ?", (result.run_id,))[0]
    assert run["status"] == "failed" and '"stop_reason": "max_turns"' in run["result"]


def test_cancel_stops_the_loop_between_turns(direct_ws, model_server):
    srv = model_server(
        {"turns": [], "fallback": {"tool_calls": [{"name": "shell", "arguments": {"command": "true"}}]}}
    )
    ws = direct_ws(_agent(), api_profile("main", srv))
    cancel = threading.Event()

    def approver(req):
        cancel.set()  # the user hits ^C while being asked
        return True

    ws.config.agent("bot").requires_approval = ["shell"]
    result = send_direct(ws, "bot", "go", cancel=cancel, approver=approver)
    assert (result.status, result.stop_reason) == ("stopped", "cancelled")
    assert len(srv.requests()) == 1
    assert (
        ws.store.query("SELECT status FROM runs WHERE run_id = ?", (result.run_id,))[0]["status"]
        == "cancelled"
    )


def test_pricing_override_from_tutti_toml_and_unknown_models(direct_ws, model_server):
    srv = model_server(
        {"turns": [{"text": "hi", "usage": {"input_tokens": 1_000_000, "output_tokens": 1_000_000}}]}
    )
    ws = direct_ws(
        _agent(),
        api_profile("main", srv, model="my-local-model"),
        "[pricing.my-local-model]\ninput_per_mtok = 1.0\noutput_per_mtok = 2.0\n",
    )
    result = send_direct(ws, "bot", "hi")
    call = next(e.data for e in events(ws, result.run_id) if e.kind == "direct.model_call")
    assert call["cost_usd"] == pytest.approx(3.0) and call["priced"]

    table = PriceTable()
    assert table.cost("totally-unknown", Usage(10, 10)) == (0.0, False)
    # dated snapshots and router prefixes find their family
    assert table.lookup("claude-sonnet-4-5-20250929") == table.lookup("claude-sonnet-4-5")
    assert table.lookup("openai/gpt-4o-mini") == table.lookup("gpt-4o-mini")


def test_malformed_tool_arguments_become_a_tool_error_for_the_model(direct_ws, model_server):
    srv = model_server(
        {"turns": [{"tool_calls": [{"name": "read_file", "arguments": {"wrong": 1}}]}, {"text": "ok"}]}
    )
    ws = direct_ws(_agent(), api_profile("main", srv))
    result = send_direct(ws, "bot", "go")
    assert result.ok
    tool = next(e.data for e in events(ws, result.run_id) if e.kind == "direct.tool_call")
    assert tool["is_error"] and "missing required argument `path`" in tool["result"]


def test_old_tool_outputs_are_elided_when_the_history_outgrows_the_context(direct_ws, model_server, git_repo):
    (git_repo / "big.txt").write_text("x" * 5000)
    read = {"tool_calls": [{"name": "read_file", "arguments": {"path": "big.txt"}}]}
    srv = model_server({"turns": [read] * 6 + [{"text": "done"}]})
    ws = direct_ws(_agent(), api_profile("main", srv))
    from tutti.direct.messages import Message
    from tutti.direct.session import LoopOptions, build_loop

    loop = build_loop(ws, "bot", LoopOptions(run_id="run_ctx"))
    loop.max_context_chars = 12_000
    loop.start("read it repeatedly")
    assert loop.run([Message.user("read it repeatedly")]).ok
    last = srv.requests()[-1].body["messages"]
    outputs = [m["content"] for m in last if m.get("role") == "tool"]
    assert outputs[0].startswith("[older tool output elided") and outputs[-1] == "x" * 5000
    assert sum(len(m.get("content") or "") for m in last) <= 12_000 + 2000
    compacted = [e.data for e in events(ws, "run_ctx") if e.kind == "direct.context_compacted"]
    assert compacted and all(c["chars_elided"] > 0 for c in compacted)


def test_a_cancel_marker_from_another_process_stops_a_direct_send(direct_ws, model_server, git_repo, tt):
    srv = model_server(
        {"turns": [], "fallback": {"tool_calls": [{"name": "shell", "arguments": {"command": "sleep 0.2"}}]}}
    )
    ws = direct_ws(_agent("max_turns = 500"), api_profile("main", srv))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tutti", "send", "bot", "--direct", "--json", "go"],
        cwd=git_repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        deadline = time.monotonic() + 30
        rows = []
        while time.monotonic() < deadline and not rows:
            rows = ws.store.query("SELECT run_id FROM runs WHERE kind = 'direct' AND status = 'running'")
            time.sleep(0.1)
        assert rows, "the direct run never started"
        run_id = rows[0]["run_id"]
        out = tt("runs", "cancel", run_id, cwd=git_repo)
        assert out.returncode == 0, out.stderr
        stdout, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert json.loads(stdout)["stop_reason"] == "cancelled"
    assert ws.store.query("SELECT status FROM runs WHERE run_id = ?", (run_id,))[0]["status"] == "cancelled"
