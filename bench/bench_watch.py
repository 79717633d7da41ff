"""`tt watch` benchmark: startup to first paint, idle CPU with N fake agents, state-change latency.

    python bench/bench_watch.py [--agents 20] [--idle-secs 20] [--prompts 10]

Builds a throwaway git repo whose N agents run the shipped fake agent in a private tmux server,
starts them (`tt up`), then runs `tt watch` in a pseudo-terminal (80×24):

- startup: process start → the first frame containing the title (median of 5 runs, `--no-supervise`
  and with the supervisor);
- idle CPU: `tt watch` (with its supervisor, as a user runs it) over N idle agents for
  `--idle-secs`, from /proc/<pid>/stat, as % of one core;
- latency: prompts sent to agents one by one; `TUTTI_WATCH_TRACE` records, per event, the
  event's commit timestamp and the time the frame showing it was drawn (p50 / p90 / max).
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def setup(root: Path, agents: int) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "--allow-empty", "-m", "i"],
                   cwd=root, check=True)
    script = root / "script.toml"
    script.write_text('work_secs = 0.5\nreply = "Done."\n')
    body = ['[workspace]\nname = "benchwatch"\n', '[defaults]\nruntime = "fake"\n']
    for i in range(agents):
        body.append(f'[[agent]]\nname = "a{i:02d}"\nworktree = false\nenv = {{ TUTTI_FAKE_SCRIPT = "{script}" }}\n')
    (root / "tutti.toml").write_text("\n".join(body))


class WatchProc:
    """`tt watch` in a pty of 80×24; `read_until(text)` returns the seconds it took."""

    def __init__(self, root: Path, env: dict[str, str], *extra: str) -> None:
        import fcntl
        import struct
        import termios

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "tutti", "watch", *extra], cwd=root, env=env,
                                     stdin=slave, stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        self.buf = b""

    def read_until(self, text: bytes, timeout: float = 60) -> float:
        deadline = time.monotonic() + timeout
        while text not in self.buf:
            if time.monotonic() > deadline:
                raise TimeoutError(self.buf[-500:])
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.buf += os.read(self.master, 65536)
                except OSError:
                    break
        return time.monotonic() - self.t0

    def drain(self) -> None:
        while select.select([self.master], [], [], 0)[0]:
            try:
                os.read(self.master, 65536)
            except OSError:
                return

    def stop(self) -> None:
        try:
            os.write(self.master, b"q")
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
        os.close(self.master)


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=20)
    ap.add_argument("--idle-secs", type=float, default=20.0)
    ap.add_argument("--prompts", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        root, home = Path(tmp) / "repo", Path(tmp) / "home"
        root.mkdir()
        home.mkdir()
        socket = f"bench-watch-{uuid.uuid4().hex[:8]}"
        env = {**os.environ, "TUTTI_HOME": str(home), "TUTTI_TMUX_SOCKET": socket, "TERM": "xterm-256color"}
        env.pop("TMUX", None)
        try:
            run_bench(root, env, args)
        finally:
            subprocess.run([sys.executable, "-m", "tutti", "down"], cwd=root, env=env, capture_output=True)
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def run_bench(root: Path, env: dict[str, str], args: argparse.Namespace) -> None:
    setup(root, args.agents)
    subprocess.run([sys.executable, "-m", "tutti", "up"], cwd=root, env=env, check=True, capture_output=True)
    time.sleep(3)
    for label, extra in (("--no-supervise", ("--no-supervise",)), ("with supervisor", ())):
        times = []
        for _ in range(5):
            w = WatchProc(root, env, *extra)
            times.append(w.read_until(b"tutti watch"))
            w.stop()
        print(f"startup to first paint ({label}): median {statistics.median(times) * 1000:.0f} ms "
              f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})")
    trace = root.parent / "trace.jsonl"
    w = WatchProc(root, {**env, "TUTTI_WATCH_TRACE": str(trace)})
    w.read_until(b"tutti watch")
    time.sleep(5)  # let the supervisor's watcher settle on the idle agents
    w.drain()
    c0, t0 = cpu_seconds(w.proc.pid), time.monotonic()
    end = t0 + args.idle_secs
    while time.monotonic() < end:
        w.drain()
        time.sleep(0.5)
    cpu = (cpu_seconds(w.proc.pid) - c0) / (time.monotonic() - t0) * 100
    print(f"idle CPU of tt watch (with supervisor) over {args.agents} idle agents: {cpu:.1f}% of one core "
          f"over {args.idle_secs:.0f} s")
    trace.write_text("")
    for i in range(args.prompts):
        agent = f"a{i % args.agents:02d}"
        subprocess.run([sys.executable, "-m", "tutti", "send", agent, f"task number {i}"], cwd=root, env=env,
                       capture_output=True)
        w.drain()
        time.sleep(1.0)
    time.sleep(3)
    w.drain()
    w.stop()
    rows = [json.loads(line) for line in trace.read_text().splitlines() if line.strip()]
    lat = sorted((_ts(r["shown_ts"]) - _ts(r["event_ts"])) * 1000 for r in rows)
    if lat:
        print(f"event committed -> drawn ({len(lat)} agent events): p50 {statistics.median(lat):.0f} ms, "
              f"p90 {lat[int(len(lat) * 0.9) - 1]:.0f} ms, max {lat[-1]:.0f} ms")
    else:
        print("no agent events were traced")


if __name__ == "__main__":
    main()
