"""`[engine] kind = "temporal"` end to end: a real Temporal dev server (the pip wheel), two
simulated hosts (each a clone with its own HOME, tmux socket and store, each its own `tt host`
process), the control process (`tt host --control`) and `tt run`, with the shipped fake agent."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter

import pytest
from tests.helpers import wait_until

from .harness import prompts, query

pytestmark = [pytest.mark.temporal, pytest.mark.slow]


def _events(c, run_id: str) -> list[tuple]:
    return query(c.repo / ".tutti" / "tutti.db",
                 "SELECT seq, kind, step, json_extract(data, '$.host'), json_extract(data, '$.host_seq') "
                 "FROM events WHERE run_id = ? ORDER BY seq", (run_id,))


def _run_id(res) -> str:
    return json.loads(res.stdout)["run_id"]


def _assert_one_spine(c, run_id: str) -> list[tuple]:
    events = _events(c, run_id)
    kinds = [e[1] for e in events]
    assert kinds[0] == "workflow.started" and kinds[-1] == "workflow.completed", kinds
    finished = Counter(e[2] for e in events if e[1] in ("workflow.step.completed", "workflow.step.warning",
                                                           "workflow.step.failed"))
    assert finished and set(finished.values()) == {1}, f"a step finished twice: {finished}"
    forwarded = [(e[3], e[4]) for e in events if e[3] is not None]
    assert len(forwarded) == len(set(forwarded)), "a host event was forwarded twice"
    for host in {h for h, _ in forwarded}:
        seqs = [s for h, s in forwarded if h == host]
        assert seqs == sorted(seqs), f"{host}'s events out of order: {seqs}"
    return events


def test_steps_on_two_hosts_complete_with_their_events_in_one_store(cluster_factory):
    c = cluster_factory()
    res = c.tt("run", "both", "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    run_id = _run_id(res)
    assert json.loads(res.stdout)["status"] == "succeeded"
    events = _assert_one_spine(c, run_id)
    sent = {e[3]: e[0] for e in events if e[1] == "agent.prompt_sent"}
    assert set(sent) == {"h1", "h2"}, events  # each prompt was typed on its own host ...
    started = {e[2]: e[0] for e in events if e[1] == "workflow.step.started"}
    done = {e[2]: e[0] for e in events if e[1] == "workflow.step.completed"}
    assert started["002-prompt"] < sent["h1"] < done["002-prompt"]  # ... and lands inside its step
    assert started["003-prompt"] < sent["h2"] < done["003-prompt"]
    assert prompts(c.records, "a1") == ["first task for a1"] and prompts(c.records, "a2") == ["second task for a2"]
    # the agents' sessions live on their hosts' tmux servers, the worktrees in their clones
    for host, agent in (("h1", "a1"), ("h2", "a2")):
        assert (c.tmp / host / "repo" / ".tutti" / "worktrees" / agent).is_dir()
        assert query(c.host_db(host), "SELECT status FROM steps WHERE run_id = ?", (run_id,))
    assert not (c.repo / ".tutti" / "worktrees").exists()
    # run end: each host stopped the agents the run started there, and said so on the spine
    reclaimed = {(e[3], e[0]) for e in events if e[1] == "workflow.agent_reclaimed"}
    assert {h for h, _ in reclaimed} == {"h1", "h2"} and max(s for _, s in reclaimed) < events[-1][0]
    for sock in c.sockets:
        listed = subprocess.run(["tmux", "-L", sock, "list-sessions"], capture_output=True, text=True)
        assert "dist-a" not in listed.stdout, listed.stdout
    runs = json.loads(c.tt("runs", "list", "--json").stdout)
    assert [(r["run_id"], r["status"], r["steps_done"]) for r in runs] == [(run_id, "succeeded", 5)]
    _assert_one_trace(c, run_id)


def _assert_one_trace(c, run_id: str) -> None:
    """Spans built from the control store's events — host events included — share the run's trace."""
    from tutti.store.db import Store
    from tutti.telemetry.spans import SpanBuilder, trace_id_for

    store = Store(c.repo / ".tutti" / "tutti.db", "dist")
    builder = SpanBuilder("dist")
    for event in store.read_events(run_id=run_id, limit=100000):
        builder.feed(event)
    spans = [*builder.finished, *builder.open.values()]
    store.close()
    assert {s.trace_id for s in spans} == {trace_id_for(run_id)}
    assert {s.name for s in spans} >= {"invoke_agent a1", "invoke_agent a2"}, [s.name for s in spans]


def test_host_worker_sigkill_mid_prompt_delivers_the_prompt_once(cluster_factory):
    c = cluster_factory(script='work_secs = 8\nreply = "Done."\n')
    proc = c.run_async("run", "both", "--json")
    # the prompt on h1 has been delivered (the host's own store says so) and a1 is working
    wait_until(lambda: query(c.host_db("h1"), "SELECT 1 FROM steps WHERE json_extract(intent, '$.delivery.state') "
                                              "= 'delivered'") or proc.poll() is not None,
               timeout=120, interval=0.1, what="the prompt on h1 to be delivered")
    assert proc.poll() is None, proc.communicate()
    c.hosts["h1"].kill(signal.SIGKILL)
    time.sleep(1.0)
    c.hosts["h1"].start()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    run_id = json.loads(out)["run_id"]
    assert json.loads(out)["status"] == "succeeded"
    assert prompts(c.records, "a1") == ["first task for a1"], "the retried activity re-sent the prompt"
    _assert_one_spine(c, run_id)
    steps = json.loads(c.tt("runs", "show", run_id, "--json").stdout)["steps"]
    step = steps[1]
    assert step["status"] == "success" and step["side_effects"].get("reattached") == "reattach", step
    assert step["side_effects"]["temporal_attempt"] == 2  # the lost worker's attempt was retried once ...
    # ... while a2's 8 s turn on h2 (heartbeat timeout 3 s) was kept alive by its heartbeats
    assert steps[2]["side_effects"]["temporal_attempt"] == 1 and steps[2]["duration_ms"] > 6000, steps[2]


def test_dev_server_sigkill_and_restart_on_its_database_loses_nothing(cluster_factory):
    c = cluster_factory(script='work_secs = 4\nreply = "Done."\n')
    proc = c.run_async("run", "both", "--json")
    wait_until(lambda: len(prompts(c.records, "a1")) == 1 or proc.poll() is not None, timeout=120, interval=0.1,
               what="a1 to receive its prompt")
    c.server.kill()
    time.sleep(1.0)
    c.server.start()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    run_id = json.loads(out)["run_id"]
    _assert_one_spine(c, run_id)
    assert prompts(c.records, "a1") == ["first task for a1"] and prompts(c.records, "a2") == ["second task for a2"]


def test_concurrent_runs_complete_and_runs_list_agrees_with_temporal(cluster_factory):
    import os

    n = int(os.environ.get("TUTTI_TEMPORAL_SCALE_RUNS", "8"))
    c = cluster_factory()
    code = ("import json, threading\nfrom tutti.workspace import load_workspace_at\nfrom pathlib import Path\n"
            "from tutti.ops.run import run_workflow\nws = load_workspace_at(Path('.'))\nout = []\n"
            "def one():\n    out.append(run_workflow(ws, 'five').status)\n"
            f"ts = [threading.Thread(target=one) for _ in range({n})]\n"
            "[t.start() for t in ts]; [t.join() for t in ts]\nprint(json.dumps(out))\n")
    res = c.python(code)
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout.splitlines()[-1]) == ["succeeded"] * n
    ours = {r["run_id"]: r["status"] for r in json.loads(c.tt("runs", "list", "--json", "--limit", str(n + 5)).stdout)}
    assert len(ours) == n and all(s == "succeeded" for s in ours.values()), ours
    _temporal_agrees(c, {r: "COMPLETED" for r in ours})
    per_host = Counter(h for (h,) in query(c.repo / ".tutti" / "tutti.db",
                                            "SELECT json_extract(data, '$.host') FROM events WHERE kind = "
                                            "'workflow.step.completed'"))
    # every step really succeeded: a step that fails open is a *warning* and its run still
    # "succeeded". Seen once under CI load: 36 of 40 step.completed events with every run succeeded;
    # not reproduced since (a suspect, the half-imported step module of steps.import_optional, is
    # fixed) — so each assertion says what the store holds
    steps = query(c.repo / ".tutti" / "tutti.db",
                  "SELECT run_id, step_index, status, json_extract(outcome, '$.message') FROM steps")
    assert len(steps) == 5 * n and [s for s in steps if s[2] != "success"] == []
    kinds = query(c.repo / ".tutti" / "tutti.db", "SELECT run_id, step, kind FROM events WHERE kind LIKE 'workflow.step.%'")
    assert sum(per_host.values()) == 5 * n, (steps, kinds)


def test_control_process_and_client_sigkill_then_resume_attaches(cluster_factory):
    c = cluster_factory(script='work_secs = 4\nreply = "Done."\n')
    proc = c.run_async("run", "both", "--json")
    wait_until(lambda: len(prompts(c.records, "a1")) == 1 or proc.poll() is not None, timeout=120, interval=0.1,
               what="a1 to receive its prompt")
    [(run_id,)] = query(c.repo / ".tutti" / "tutti.db", "SELECT run_id FROM runs")
    c.control.kill(signal.SIGKILL)
    proc.kill()
    proc.wait()
    assert json.loads(c.tt("runs", "show", run_id, "--json").stdout)["status"] == "running"  # Temporal holds it
    c.control.start()
    res = c.tt("run", "--resume", run_id, "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["status"] == "succeeded" and json.loads(res.stdout)["run_id"] == run_id
    _assert_one_spine(c, run_id)
    assert prompts(c.records, "a1") == ["first task for a1"] and prompts(c.records, "a2") == ["second task for a2"]


@pytest.mark.parametrize("how", ["runs-cancel", pytest.param("ctrl-c", marks=pytest.mark.extended)])
def test_cancel_is_a_temporal_cancel(cluster_factory, how):
    c = cluster_factory(script='work_secs = 30\nreply = "Done."\n')
    proc = c.run_async("run", "both", "--json")
    wait_until(lambda: len(prompts(c.records, "a1")) == 1 or proc.poll() is not None, timeout=120, interval=0.1,
               what="a1 to receive its prompt")
    [(run_id,)] = query(c.repo / ".tutti" / "tutti.db", "SELECT run_id FROM runs")
    if how == "ctrl-c":
        proc.send_signal(signal.SIGINT)
    else:
        res = c.tt("runs", "cancel", run_id)
        assert res.returncode == 0, res.stdout + res.stderr
    out, err = proc.communicate(timeout=120)
    assert json.loads(out)["status"] == "cancelled", out + err
    assert json.loads(c.tt("runs", "show", run_id, "--json").stdout)["status"] == "cancelled"
    kinds = [e[1] for e in _events(c, run_id)]
    assert kinds[-1] == "workflow.cancelled" and "workflow.step.started" in kinds


def test_nested_workflow_is_a_child_workflow(cluster_factory):
    c = cluster_factory()
    res = c.tt("run", "nest", "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    parent = json.loads(res.stdout)
    assert parent["status"] == "succeeded"
    child_id = parent["steps"][1]["side_effects"]["child_run_id"]
    assert parent["steps"][1]["side_effects"]["temporal_child_workflow"] is True
    shown = json.loads(c.tt("runs", "show", parent["run_id"], "--json").stdout)
    assert shown["children"] == [child_id]
    child = json.loads(c.tt("runs", "show", child_id, "--json").stdout)
    assert child["status"] == "succeeded" and child["parent_run_id"] == parent["run_id"]
    assert [s["status"] for s in child["steps"]] == ["success"] * 5
    _temporal_agrees(c, {parent["run_id"]: "COMPLETED", child_id: "COMPLETED"})


def _temporal_agrees(c, expected: dict[str, str]) -> None:
    """Temporal's list (its visibility store may trail the result by a moment) matches."""
    seen: dict[str, str] = {}

    def agrees() -> bool:
        listed = c.python("import json\nfrom pathlib import Path\nfrom tutti.workspace import load_workspace_at\n"
                          "from tutti.distributed.run import list_workflows\n"
                          "print(json.dumps(list_workflows(load_workspace_at(Path('.')))))\n")
        seen.clear()
        if listed.returncode != 0:
            seen["error"] = listed.stderr[-2000:]
            return False
        seen.update({w["run_id"]: w["status"] for w in json.loads(listed.stdout.splitlines()[-1])})
        return seen == expected

    try:
        wait_until(agrees, timeout=60, interval=1.0, what="Temporal's list to agree")
    except AssertionError:
        raise AssertionError(f"Temporal lists {seen}, tutti {expected}") from None


def test_send_and_peek_reach_an_agent_on_its_host(cluster_factory):
    c = cluster_factory()
    res = c.tt("send", "a1", "--auto-up", "--wait", "--json", "hello from the control host")
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["agent"] == "a1" and json.loads(res.stdout)["waited"] is True
    assert prompts(c.records, "a1") == ["hello from the control host"]  # typed on h1's tmux server
    peek = c.tt("peek", "a1")
    assert peek.returncode == 0 and "hello from the control host" in peek.stdout, peek.stdout + peek.stderr
    status = {s["agent"]: s for s in json.loads(c.tt("status", "--json").stdout)}
    assert status["a1"]["running"] is True and status["a1"]["workdir"].startswith(str(c.tmp / "h1")), status["a1"]
    assert status["a2"]["running"] is False
    logs = c.tt("logs", "a1", "-l", "200")  # the host's watcher log of a1
    assert logs.returncode == 0, logs.stderr
    missing = c.tt("peek", "a2")  # not running on h2: the host's own error, one line + hint
    assert missing.returncode != 0 and "a2" in missing.stderr
    assert any(line.startswith("error[") for line in missing.stderr.splitlines()), missing.stderr
    assert "hint:" in missing.stderr and "Traceback" not in missing.stderr


def test_api_start_run_returns_the_run_id_at_once(cluster_factory):
    c = cluster_factory()
    code = ("import json, time\nfrom pathlib import Path\nfrom tutti.workspace import load_workspace_at\n"
            "from tutti.ops.run import start_run, get_run\nws = load_workspace_at(Path('.'))\n"
            "run_id = start_run(ws, 'five')\nfirst = get_run(ws, run_id)['status']\n"
            "deadline = time.monotonic() + 120\n"
            "while get_run(ws, run_id)['status'] == 'running' and time.monotonic() < deadline:\n    time.sleep(0.2)\n"
            "print(json.dumps([run_id, first, get_run(ws, run_id)['status']]))\n")
    res = c.python(code)
    assert res.returncode == 0, res.stdout + res.stderr
    run_id, first, last = json.loads(res.stdout.splitlines()[-1])
    assert first == "running" and last == "succeeded"
    _temporal_agrees(c, {run_id: "COMPLETED"})


def test_resume_of_a_failed_run_is_the_next_execution_of_its_workflow(cluster_factory):
    c = cluster_factory()
    res = c.tt("run", "flaky", "--json")
    assert res.returncode != 0
    first = json.loads(res.stdout)
    assert first["status"] == "failed" and first["failed_steps"] == [3]
    run_id = first["run_id"]
    res = c.tt("run", "--resume", run_id, "--json")  # step 3 on h1 now passes (its marker exists there)
    assert res.returncode == 0, res.stdout + res.stderr
    again = json.loads(res.stdout)
    assert again["run_id"] == run_id and again["status"] == "succeeded" and again["resumed"] is True
    assert (c.tmp / "h2" / "repo" / "ran.txt").read_text() == "on-h2\n"  # done steps were not replayed
    shown = json.loads(c.tt("runs", "show", run_id, "--json").stdout)
    assert [s["attempt"] for s in shown["steps"]] == [1, 1, 2, 1] and shown["resumes"] == 1
    _temporal_agrees(c, {run_id: "COMPLETED"})  # the same workflow id: its latest execution
