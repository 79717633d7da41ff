"""What a workflow prompt step adds on top of the agent's own work, and what a tick costs.

    python bench/bench_prompt_step.py [--rounds 3] [--work-secs 2]

Builds a throwaway git repo with one fake agent (runtime `fake`, private tmux server), then
runs a one-step workflow `--rounds` times with `tt run`:
* cold: the first run starts the agent (launch + readiness wait) — the agent is persistent,
  so later runs find it running;
* warm: prompt → agent works `--work-secs` → idle-and-stable (3 s) → step done.
Prints the step durations and the overhead beyond the agent's work (the 3 s stability window
is the floor: completion is never declared on the first idle frame). Also prints how long
`Scheduler.tick` takes for 50 scheduled workflows (cron evaluation with DST handling).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def bench_prompt(rounds: int, work_secs: float, state_file: bool = False) -> None:
    """`state_file`: the fake agent writes a Claude-style state file (TUTTI_FAKE_STATE_FILE), so
    the step ends on the structured "turn ended" signal instead of the 3 s idle-stable window."""
    state_env = ', TUTTI_FAKE_STATE_FILE = "1"' if state_file else ""
    socket = f"tutti-bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "TUTTI_TMUX_SOCKET": socket}
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:  # the agent may still write state while it stops
        root = Path(tmp) / "repo"
        root.mkdir()
        env["TUTTI_HOME"] = str(Path(tmp) / "home")
        git(root, "init", "-q", "-b", "main")
        git(root, "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-q", "--allow-empty", "-m", "init")
        script = Path(tmp) / "script.json"
        script.write_text(json.dumps({"work_secs": work_secs, "reply": "Done."}))
        (root / "tutti.toml").write_text(
            '[workspace]\nname = "bench"\n\n[[agent]]\nname = "a"\nruntime = "fake"\npersistent = true\n'
            f'env = {{ TUTTI_FAKE_SCRIPT = "{script}"{state_env} }}\n\n[[workflow]]\nname = "p"\n\n'
            '[[workflow.step]]\nid = "ask"\ntype = "prompt"\nagent = "a"\ntext = "do it"\n'
            'wait_for_idle = true\nwait_timeout_secs = 120\n'
        )
        durations = []
        try:
            for i in range(rounds):
                t0 = time.perf_counter()
                res = subprocess.run([sys.executable, "-m", "tutti", "run", "p", "--json"], cwd=root, env=env,
                                     capture_output=True, text=True, timeout=300)
                wall = time.perf_counter() - t0
                if res.returncode != 0:
                    print(res.stdout, res.stderr)
                    raise SystemExit("run failed")
                run_id = json.loads(res.stdout)["run_id"]
                db = sqlite3.connect(root / ".tutti" / "tutti.db")
                outcome = json.loads(db.execute("SELECT outcome FROM steps WHERE run_id = ?", (run_id,)).fetchone()[0])
                db.close()
                step = outcome["duration_ms"] / 1000
                durations.append(step)
                label = "cold (starts agent)" if i == 0 else "warm"
                print(f"run {i + 1} {label:20} step {step:6.2f} s  wall {wall:6.2f} s  "
                      f"overhead beyond work {step - work_secs:5.2f} s")
        finally:
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
        warm = durations[1:]
        if warm:
            print(f"warm prompt step: median {statistics.median(warm):.2f} s for {work_secs:.1f} s of agent work "
                  f"(overhead {statistics.median(warm) - work_secs:.2f} s; "
                  + ("ended by the structured state file)" if state_file else "3.00 s of it is the idle-stable window)"))


def bench_tick(n: int = 50, rounds: int = 20) -> None:
    from tutti.config.models import TuttiConfig
    from tutti.workflows.scheduler import Scheduler
    from tutti.workspace import Workspace

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:  # the agent may still write state while it stops
        zones = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo", None]
        wfs = [{"name": f"w{i}", "schedule": f"{i % 60} */2 * * 1-5", "timezone": zones[i % len(zones)]} for i in range(n)]
        ws = Workspace(root=Path(tmp), config=TuttiConfig.model_validate({"workspace": {"name": "b"}, "workflow": wfs}))
        s = Scheduler(ws, launcher=lambda w: None, run_in_thread=False)
        samples = []
        now = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)
        for r in range(rounds):
            t0 = time.perf_counter()
            s.tick(now.replace(minute=r))
            samples.append(time.perf_counter() - t0)
        print(f"Scheduler.tick with {n} workflows: median {statistics.median(samples) * 1000:.1f} ms, "
              f"max {max(samples) * 1000:.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work-secs", type=float, default=2.0)
    ap.add_argument("--state-file", action="store_true",
                    help="the fake agent emits a Claude-style state file (structured turn-ended signal)")
    args = ap.parse_args()
    bench_tick()
    bench_prompt(args.rounds, args.work_secs, args.state_file)


if __name__ == "__main__":
    main()
