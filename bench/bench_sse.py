"""SSE fan-out benchmark: N clients on /v1/events/stream while a writer appends R events/s.

    python bench/bench_sse.py [--clients 100] [--rate 1000] [--seconds 5]
    python bench/bench_sse.py --idle [--clients 50] [--seconds 10]   # connected, no events

Runs `tt serve` as its own process (so its CPU is measured alone), a writer process appending
events in small transactions (recording each event's commit time), and N raw-socket SSE clients
in this process recording when each `id:` arrives. Prints delivery latency p50/p99/max
(commit → client receive), events delivered, and the server's CPU use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOML = '[workspace]\nname = "bench"\n\n[[agent]]\nname = "a"\nruntime = "fake"\n'
ID = re.compile(rb"id: (\d+)\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def writer(root: str, rate: int, seconds: float, start_at: float, out: str) -> None:
    from tutti.store import open_store

    store = open_store(Path(root), workspace="bench")
    batch = max(1, rate // 100)  # 100 commits/s
    commits: dict[int, float] = {}
    while time.time() < start_at:
        time.sleep(0.001)
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < seconds:
        with store.transaction() as conn:
            seqs = [store.append_event("agent.working", agent="a", data={"n": n + i}, conn=conn).seq
                    for i in range(batch)]
        now = time.time()
        for s in seqs:
            commits[s] = now
        n += batch
        next_at = t0 + n / rate
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    Path(out).write_text(json.dumps(commits))


async def client(port: int, received: dict[int, float], ready: asyncio.Event, counter: list[int]) -> None:
    reader, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"GET /v1/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
    await w.drain()
    buf = b""
    connected = False
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            now = time.time()
            if not connected and b"tutti events stream" in chunk:
                connected = True
                counter[0] += 1
                if counter[0] == counter[1]:
                    ready.set()
            if b"event: reconnect" in chunk:
                counter[2] += 1
            buf += chunk
            last = 0
            for m in ID.finditer(buf):
                received[int(m.group(1))] = now
                last = m.end()
            buf = buf[last:] if last else buf[-64:]
    except asyncio.CancelledError:
        w.close()
        raise


async def run_clients(port: int, n: int, start_at_cb, seconds: float) -> list[dict[int, float]]:
    ready = asyncio.Event()
    counter = [0, n, 0]
    results: list[dict[int, float]] = [{} for _ in range(n)]
    tasks = [asyncio.create_task(client(port, results[i], ready, counter)) for i in range(n)]
    await asyncio.wait_for(ready.wait(), 60)
    start_at_cb()
    await asyncio.sleep(seconds + 2.0)  # let the tail drain
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if counter[2]:
        print(f"{counter[2]} clients were told to reconnect (too slow)")
    return results


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--idle", action="store_true", help="no writer: the server's CPU with clients connected")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tutti-bench-sse-"))
    (tmp / "tutti.toml").write_text(TOML)
    env = dict(os.environ, TUTTI_HOME=str(tmp / "home"))
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tutti", "serve", "--port", str(port)], cwd=tmp, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start: " + server.stderr.read().decode()[-2000:])
                time.sleep(0.1)
        commits_file = tmp / "commits.json"
        state: dict = {}

        def start_writer() -> None:
            if args.idle:
                state["cpu0"], state["t0"] = cpu_seconds(server.pid), time.monotonic()
                return
            start_at = time.time() + 0.5
            state["cpu0"], state["t0"] = cpu_seconds(server.pid), time.monotonic()
            proc = mp.get_context("spawn").Process(
                target=writer, args=(str(tmp), args.rate, args.seconds, start_at, str(commits_file)))
            proc.start()
            state["writer"] = proc

        results = asyncio.run(run_clients(port, args.clients, start_writer, args.seconds + 0.5))
        cpu = cpu_seconds(server.pid) - state["cpu0"]
        wall = time.monotonic() - state["t0"]
        if args.idle:
            print(f"idle: {args.clients} clients connected, no events: server CPU {cpu:.3f} s over {wall:.1f} s "
                  f"wall = {100 * cpu / wall:.2f}% of one core")
            return 0
        state["writer"].join(30)
        commits = {int(k): v for k, v in json.loads(commits_file.read_text()).items()}
    finally:
        server.terminate()
        server.wait(10)

    latencies = [(got[s] - commits[s]) * 1000 for got in results for s in commits if s in got]
    expected = len(commits) * args.clients
    missing = expected - len(latencies)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    print(f"clients={args.clients} rate={args.rate}/s seconds={args.seconds} events={len(commits)}")
    print(f"delivered {len(latencies)}/{expected} frames (missing {missing})")
    print(f"latency ms: p50={q[49]:.1f} p99={q[98]:.1f} max={latencies[-1]:.1f}")
    print(f"server CPU: {cpu:.2f} s over {wall:.2f} s wall = {100 * cpu / wall:.0f}% of one core")
    return 0 if missing == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
