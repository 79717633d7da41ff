"""OpenTelemetry export from the event spine, against a real OTLP/HTTP receiver on 127.0.0.1:
spans of real `tt run`s and API-direct runs, their parents and attributes, metrics, and a
collector that fails without losing anything."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading

import pytest

from tutti.telemetry.spans import span_id_for, trace_id_for
from tutti.testing.otlp_receiver import OtlpReceiver
from tutti.workspace import load_workspace_at

pytest.importorskip("opentelemetry.proto")

THREE_STEPS = """
[[workflow]]
name = "trio"
[[workflow.step]]
id = "make"
type = "command"
run = "echo made > made.txt"
[[workflow.step]]
id = "check"
type = "command"
run = "test -f made.txt"
depends_on = [1]
[[workflow.step]]
id = "boom"
type = "command"
run = "exit 3"
depends_on = [1]
fail_mode = "open"
"""


@pytest.fixture
def receiver():
    with OtlpReceiver() as r:
        yield r


def _workspace(repo, receiver, body: str, protocol: str = "http/protobuf"):
    (repo / "tutti.toml").write_text(textwrap.dedent(f"""
        [workspace]
        name = "oteldemo"

        [observe]
        otel = true
        otlp_endpoint = "{receiver.endpoint}"
        otlp_protocol = "{protocol}"
        """) + textwrap.dedent(body))
    return repo


def _run_id(tt, repo, workflow: str) -> str:
    out = tt("run", workflow, "--json", cwd=repo)
    return json.loads(out.stdout)["run_id"]


def test_a_three_step_run_is_one_trace_with_the_steps_under_the_run_span(git_repo, receiver, tt):
    repo = _workspace(git_repo, receiver, THREE_STEPS)
    run_id = _run_id(tt, repo, "trio")

    out = tt("telemetry", "export", "--json", cwd=repo)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["spans"] == 4 and report["error"] is None

    spans = {s["name"]: s for s in receiver.spans}
    root = spans["invoke_workflow trio"]
    assert root["traceId"] == trace_id_for(run_id).hex()
    assert "parentSpanId" not in root and root["attributes"]["tutti.run_id"] == run_id
    assert root["resource"]["service.name"] == "tutti" and root["resource"]["tutti.workspace"] == "oteldemo"
    steps = [s for s in receiver.spans if s["name"].startswith("step ")]
    assert sorted(s["attributes"]["tutti.step.id"] for s in steps) == ["boom", "check", "make"]
    for step in steps:
        assert step["traceId"] == root["traceId"] and step["parentSpanId"] == root["spanId"]
        assert int(step["startTimeUnixNano"]) >= int(root["startTimeUnixNano"])
        assert int(step["endTimeUnixNano"]) <= int(root["endTimeUnixNano"])
        assert step["attributes"]["tutti.step.type"] == "command"
    boom = next(s for s in steps if s["attributes"]["tutti.step.id"] == "boom")
    assert boom["status"]["code"] == "STATUS_CODE_ERROR"
    ok = next(s for s in steps if s["attributes"]["tutti.step.id"] == "make")
    assert ok["status"]["code"] == "STATUS_CODE_OK"

    durations = receiver.metric("tutti.step.duration")
    assert durations is not None
    assert sum(int(p["count"]) for p in durations["histogram"]["dataPoints"]) == 3


def test_export_is_off_by_default_and_the_exporter_is_never_imported(git_repo, tt):
    (git_repo / "tutti.toml").write_text(textwrap.dedent("""
        [workspace]
        name = "quiet"
        """) + THREE_STEPS)
    out = tt("telemetry", "export", cwd=git_repo)
    assert out.returncode == 2 and "error[usage]: telemetry export is off" in out.stderr
    assert "otel = true" in out.stderr
    probe = subprocess.run([sys.executable, "-X", "importtime", "-m", "tutti", "run", "trio"], cwd=git_repo,
                           capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert "tutti.telemetry" not in probe.stderr and "opentelemetry" not in probe.stderr


def test_a_nested_workflow_shares_its_parents_trace(git_repo, receiver, tt):
    repo = _workspace(git_repo, receiver, """
        [[workflow]]
        name = "inner"
        [[workflow.step]]
        type = "command"
        run = "true"

        [[workflow]]
        name = "outer"
        [[workflow.step]]
        id = "call"
        type = "workflow"
        workflow = "inner"
        """)
    run_id = _run_id(tt, repo, "outer")
    assert tt("telemetry", "export", cwd=repo).returncode == 0
    by_name = {s["name"]: s for s in receiver.spans}
    outer, inner, call = by_name["invoke_workflow outer"], by_name["invoke_workflow inner"], by_name["step call"]
    assert {s["traceId"] for s in receiver.spans} == {trace_id_for(run_id).hex()}
    assert inner["parentSpanId"] == call["spanId"] and call["parentSpanId"] == outer["spanId"]


def test_a_failing_collector_loses_and_duplicates_nothing(git_repo, receiver, tt):
    repo = _workspace(git_repo, receiver, THREE_STEPS, protocol="http/json")
    _run_id(tt, repo, "trio")
    receiver.fail_with = 503
    out = tt("telemetry", "export", "--json", cwd=repo)
    assert out.returncode == 1 and "503" in out.stderr and "nothing is lost" in out.stderr
    assert receiver.spans == []
    receiver.fail_with = None
    _run_id(tt, repo, "trio")  # a second run while the first is still unexported
    assert tt("telemetry", "export", cwd=repo).returncode == 0
    assert len(receiver.spans) == 8
    assert len({(s["traceId"], s["spanId"]) for s in receiver.spans}) == 8
    assert all(ct == "application/json" for _, ct in receiver.requests)
    status = json.loads(tt("telemetry", "status", "--json", cwd=repo).stdout)
    assert status["behind"] == 0 and status["open_spans"] == 0 and status["enabled"] is True


def test_the_supervisor_thread_follows_the_store_and_keeps_open_spans_across_restarts(git_repo, receiver):
    from tutti.telemetry.exporter import start_background

    repo = _workspace(git_repo, receiver, "")
    ws = load_workspace_at(repo)
    store = ws.store
    store.append_event("workflow.started", run_id="r-live", data={"workflow_name": "live"})
    store.append_event("workflow.step.started", run_id="r-live", step="s1",
                       data={"step_id": "s1", "step_type": "command", "attempt": 1})
    stop = threading.Event()
    thread = start_background(ws, stop)
    assert thread is not None
    _wait(lambda: load_state_cursor(ws) >= 2)
    stop.set()
    thread.join(10)
    assert receiver.spans == []  # nothing has ended yet

    # The run finishes while no exporter runs; a new one picks up the open spans it saved.
    store.append_event("workflow.step.finished", run_id="r-live", step="s1", data={"status": "success"})
    store.append_event("workflow.completed", run_id="r-live", data={})
    stop2 = threading.Event()
    thread2 = start_background(load_workspace_at(repo), stop2)
    _wait(lambda: len(receiver.spans) == 2)
    stop2.set()
    thread2.join(10)
    step = next(s for s in receiver.spans if s["name"] == "step s1")
    assert step["spanId"] == span_id_for("step", "r-live", "s1", 1).hex()
    assert step["parentSpanId"] == span_id_for("run", "r-live").hex()


def test_a_second_exporter_of_the_same_workspace_is_refused(git_repo, receiver):
    from tutti.telemetry.exporter import start_background

    repo = _workspace(git_repo, receiver, "")
    stop = threading.Event()
    first = start_background(load_workspace_at(repo), stop)
    try:
        assert first is not None
        assert start_background(load_workspace_at(repo), threading.Event()) is None
    finally:
        stop.set()
        first.join(10)


def test_api_direct_model_and_tool_calls_become_chat_and_execute_tool_spans(git_repo, receiver):
    from tests.direct.conftest import SECRET  # noqa: F401 - the fixture module's key

    from tutti.telemetry.exporter import Exporter, resolve_settings

    ws = _direct_run_workspace(git_repo, receiver)
    exporter = Exporter(ws, resolve_settings(ws.config.observe))
    report = exporter.drain()
    exporter.close()
    assert report.error is None
    chats = [s for s in receiver.spans if s["name"] == "chat gpt-4o"]
    tools = [s for s in receiver.spans if s["name"].startswith("execute_tool ")]
    agent = next(s for s in receiver.spans if s["name"] == "invoke_agent fixer")
    assert [c["attributes"]["gen_ai.usage.input_tokens"] for c in chats] == [1200, 1500]
    assert all(c["parentSpanId"] == agent["spanId"] and c["kind"] == "SPAN_KIND_CLIENT" for c in chats)
    assert [t["attributes"]["gen_ai.tool.name"] for t in tools] == ["read_file"]
    assert tools[0]["parentSpanId"] == agent["spanId"]
    usage = receiver.metric("gen_ai.client.token.usage")
    by_type = {dict((a["key"], a["value"].get("stringValue")) for a in p["attributes"])["gen_ai.token.type"]: p
               for p in usage["histogram"]["dataPoints"]}
    assert float(by_type["input"]["sum"]) == 2700 and float(by_type["output"]["sum"]) == 60
    cost = receiver.metric("tutti.cost")
    assert cost is not None and cost["sum"]["dataPoints"][0]["asDouble"] > 0


def _direct_run_workspace(repo, receiver):
    import os

    from tutti.ops.direct import send_direct
    from tutti.testing.model_server import ScriptedModelServer

    script = {"turns": [
        {"text": "reading", "tool_calls": [{"name": "read_file", "arguments": {"path": "README.md"}}],
         "usage": {"input_tokens": 1200, "output_tokens": 40}},
        {"text": "done", "usage": {"input_tokens": 1500, "output_tokens": 20}},
    ]}
    srv = ScriptedModelServer(script).start()
    os.environ["TUTTI_TEST_KEY"] = "sk-test-otel-0123456789"
    home = os.environ["TUTTI_HOME"]
    from pathlib import Path

    (Path(home) / "config.toml").write_text(textwrap.dedent(f"""
        [[profile]]
        name = "main"
        provider = "openai"
        plan = "api"
        model = "gpt-4o"
        base_url = "{srv.base_url}"
        api_key_env = "TUTTI_TEST_KEY"
        """))
    _workspace(repo, receiver, '[[agent]]\nname = "fixer"\nprovider = "main"\n')
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "cfg"], cwd=repo, check=True)
    ws = load_workspace_at(repo)
    try:
        result = send_direct(ws, "fixer", "read the readme")
        assert result.ok
    finally:
        srv.stop()
    return ws


def load_state_cursor(ws) -> int:
    from tutti.telemetry.exporter import load_state

    return int(load_state(ws.state_dir).get("cursor", 0))


def _wait(cond, timeout: float = 20.0) -> None:
    from tests.helpers import wait_until

    wait_until(cond, timeout=timeout, what="telemetry export")


@pytest.mark.slow
def test_tt_serve_exports_runs_as_they_happen(git_repo, receiver, tt, tmux_socket):
    import os
    import socket

    from tests.helpers import wait_until

    repo = _workspace(git_repo, receiver, THREE_STEPS)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    serve = subprocess.Popen([sys.executable, "-m", "tutti", "serve", "--port", str(port)], cwd=repo,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ))
    try:
        run_id = _run_id(tt, repo, "trio")
        wait_until(lambda: any(s["name"] == "invoke_workflow trio" for s in receiver.spans), timeout=30,
                   what="the run's span at the collector")
        root = next(s for s in receiver.spans if s["name"] == "invoke_workflow trio")
        assert root["traceId"] == trace_id_for(run_id).hex()
        wait_until(lambda: len([s for s in receiver.spans if s["name"].startswith("step ")]) == 3, timeout=30,
                   what="the step spans")
    finally:
        serve.terminate()
        serve.wait(20)


def _session_env(tmux_socket: str, session: str, name: str) -> str | None:
    out = subprocess.run(["tmux", "-L", tmux_socket, "show-environment", "-t", session, name],
                         capture_output=True, text=True)
    return out.stdout.strip().split("=", 1)[1] if out.returncode == 0 and "=" in out.stdout else None


@pytest.mark.slow
def test_an_agent_started_by_a_run_gets_the_runs_traceparent(fake_workspace, tmux_socket, receiver, tt):
    root = fake_workspace([{"name": "solo", "worktree": False}])
    cfg = root / "tutti.toml"  # persistent: the run's end leaves the session for us to inspect
    cfg.write_text(cfg.read_text().replace('name = "solo"\n', 'name = "solo"\npersistent = true\n')
                   + textwrap.dedent(f"""
        [observe]
        otel = true
        otlp_endpoint = "{receiver.endpoint}"

        [[workflow]]
        name = "start"
        [[workflow.step]]
        type = "ensure_running"
        agent = "solo"
        """))
    try:
        run_id = _run_id(tt, root, "start")
        parent = _session_env(tmux_socket, "tutti-demo-solo", "TRACEPARENT")
        assert parent == f"00-{trace_id_for(run_id).hex()}-{span_id_for('run', run_id).hex()}-01"
        attrs = _session_env(tmux_socket, "tutti-demo-solo", "OTEL_RESOURCE_ATTRIBUTES")
        assert "tutti.agent=solo" in attrs and "tutti.workspace=demo" in attrs
    finally:
        tt("down", "--all", cwd=root)


@pytest.mark.slow
def test_tt_up_gives_a_session_trace_and_nothing_when_telemetry_is_off(fake_workspace, tmux_socket, tt):
    root = fake_workspace([{"name": "solo", "worktree": False}])
    try:
        assert tt("up", "solo", cwd=root).returncode == 0
        assert _session_env(tmux_socket, "tutti-demo-solo", "TRACEPARENT") is None
        tt("down", "solo", cwd=root)
        cfg = root / "tutti.toml"
        cfg.write_text(cfg.read_text() + '\n[observe]\notel = true\n')
        assert tt("up", "solo", cwd=root).returncode == 0
        parent = _session_env(tmux_socket, "tutti-demo-solo", "TRACEPARENT")
        assert parent is not None and parent.startswith("00-") and parent.endswith("-01")
    finally:
        tt("down", "--all", cwd=root)
