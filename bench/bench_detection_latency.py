"""Detection latency and idle cost of the control-mode watcher, with 20 fake agents.

    python bench/bench_detection_latency.py [--agents 20] [--rounds 3] [--idle-secs 10]

Measures, on a private tmux server:
- latency from the fake agent receiving a prompt (it starts drawing its spinner at once;
  the time is in its record file) to the `agent.working` event in the store, and from the
  end of its scripted work to the `agent.idle` event (p50 / p95 / max);
- CPU used by the watcher process and its tmux control clients while all agents are idle,
  from /proc/PID/stat over `--idle-secs`.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

WORK_SECS = 1.0


def ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def cpu_ticks(pid: int) -> int:
    """utime + stime + the same for its reaped children (the short `tmux` calls it makes)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15])


def family(pid: int) -> list[int]:
    """pid and its direct children (the watcher's tmux control clients)."""
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return [pid, *kids]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--idle-secs", type=float, default=10.0)
    args = ap.parse_args()

    socket = f"tutti-bench-{uuid.uuid4().hex[:8]}"
    os.environ["TUTTI_TMUX_SOCKET"] = socket
    tmp = Path(tempfile.mkdtemp(prefix="tutti-bench-"))
    os.environ["TUTTI_HOME"] = str(tmp / "home")
    root = tmp / "repo"
    root.mkdir()
    for cmd in (["init", "-q", "-b", "main"], ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q",
                                                   "--allow-empty", "-m", "init"]):
        subprocess.run(["git", *cmd], cwd=root, check=True)
    records = tmp / "records"
    records.mkdir()
    script = tmp / "script.toml"
    script.write_text(f'work_secs = {WORK_SECS}\nreply = "Done."\n')
    agents = [f"a{i:02d}" for i in range(args.agents)]
    toml = ['[workspace]\nname = "bench"\n[defaults]\nruntime = "fake"\nworktree = false\n']
    for a in agents:
        toml.append(f'[[agent]]\nname = "{a}"\nenv = {{ TUTTI_FAKE_SCRIPT = "{script}", '
                    f'TUTTI_FAKE_RECORD = "{records / (a + ".jsonl")}" }}\n')
    (root / "tutti.toml").write_text("\n".join(toml))

    from tutti.ops.agents import down, up
    from tutti.ops.supervisor_process import running_pid
    from tutti.sessions.tmux import TmuxBackend
    from tutti.workspace import load_workspace_at

    ws = load_workspace_at(root)
    backend = TmuxBackend()
    watcher_pid = None
    try:
        t0 = time.monotonic()
        res = up(ws)
        watcher_pid = res.watcher_pid
        print(f"up: {len(res.launched)} agents in {time.monotonic() - t0:.2f}s (watcher pid {watcher_pid})")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            idle = {e.agent for e in ws.store.read_events(kinds=["agent.idle"], limit=10000)}
            if idle >= set(agents):
                break
            time.sleep(0.2)
        else:
            print("not all agents became idle", file=sys.stderr)
            return 1
        print(f"all {len(agents)} agents idle after {time.monotonic() - t0:.2f}s")

        time.sleep(1.0)
        pids = family(watcher_pid)
        before = sum(cpu_ticks(p) for p in pids)
        time.sleep(args.idle_secs)
        used = (sum(cpu_ticks(p) for p in pids if Path(f"/proc/{p}").exists()) - before) / os.sysconf("SC_CLK_TCK")
        print(f"idle CPU (watcher incl. its tmux calls + {len(pids) - 1} control clients) over {args.idle_secs:.0f}s: "
              f"{used:.2f}s CPU = {100 * used / args.idle_secs:.2f}% of one core")

        working, idle_lat = [], []
        pids = family(watcher_pid)
        busy_before, busy_t0 = sum(cpu_ticks(p) for p in pids), time.monotonic()
        for rnd in range(args.rounds):
            cursor = ws.store.latest_seq()
            for a in agents:
                backend.send_text(ws.session_name(a), f"round {rnd} for {a}", submit_delay=0.05)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                evs = ws.store.read_events(cursor, limit=10000)
                if {e.agent for e in evs if e.kind == "agent.idle"} >= set(agents):
                    break
                time.sleep(0.2)
            evs = ws.store.read_events(cursor, limit=10000)
            for a in agents:
                recs = [json.loads(x) for x in (records / f"{a}.jsonl").read_text().splitlines() if x.strip()]
                got = recs[-1]["time"]
                w = next((ts(e.ts) for e in evs if e.agent == a and e.kind == "agent.working"), None)
                i = next((ts(e.ts) for e in evs if e.agent == a and e.kind == "agent.idle"), None)
                if w is not None:
                    working.append((w - got) * 1000)
                if i is not None:
                    idle_lat.append((i - got - WORK_SECS) * 1000)
        busy = (sum(cpu_ticks(p) for p in pids if Path(f"/proc/{p}").exists()) - busy_before) / os.sysconf("SC_CLK_TCK")
        wall = time.monotonic() - busy_t0
        print(f"busy CPU (watcher incl. its tmux calls + control clients) over {wall:.1f}s of {args.rounds} prompt rounds: "
              f"{busy:.2f}s CPU = {100 * busy / wall:.1f}% of one core")
        for name, vals in (("prompt received -> agent.working", working),
                           ("work done -> agent.idle (approx., fake agent ticks every 250 ms)", idle_lat)):
            if vals:
                print(f"{name}: n={len(vals)} p50={statistics.median(vals):.0f} ms p95={pct(vals, 0.95):.0f} ms "
                      f"max={max(vals):.0f} ms")
        print(f"events: {ws.store.latest_seq()} total in the store")
    finally:
        try:
            down(ws)
        finally:
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
            if watcher_pid and running_pid(root) == watcher_pid:
                os.kill(watcher_pid, signal.SIGTERM)
    return 0


if __name__ == "__main__":
    sys.exit(main())
