"""SSE fan-out benchmark: N clients on /v1/events/stream while a writer appends R events/s.

    python bench/bench_sse.py [--clients 100] [--rate 1000] [--seconds 5] [--client-procs 2]
    python bench/bench_sse.py --idle [--clients 50] [--seconds 10]   # connected, no events
    python bench/bench_sse.py --profile /tmp/sse.txt                 # py-spy the server (if installed)
    python bench/bench_sse.py --floor                                # no tutti: the machine's floor
    python bench/bench_sse.py --autogroup-nice -10                   # root, on a busy shared machine

Runs `tt serve` as its own process (so its CPU is measured alone), a writer process appending
events in small transactions (recording each event's commit time), and N raw-socket SSE clients
spread over `--client-procs` processes, each recording when each `id:` arrives. Prints delivery
latency p50/p99/max (commit → client receive), events delivered, and the CPU of the server, the
writer and the clients — on a 2-core machine the clients' own parsing competes with the server,
so their CPU is part of the reading.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import re
import shutil
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


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def writer(root: str, rate: int, seconds: float, start_at: float, out: str, nice: int | None = None) -> None:
    from tutti.store import open_store

    own_autogroup(nice)
    store = open_store(Path(root), workspace="bench")
    batch = max(1, rate // 100)  # 100 commits/s
    commits: dict[int, float] = {}
    while time.time() < start_at:
        time.sleep(0.001)
    cpu0, t0 = own_cpu(), time.monotonic()
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
    Path(out).write_text(json.dumps({"commits": commits, "cpu": own_cpu() - cpu0}))


async def client(port: int, received: dict[int, float], state: dict) -> None:
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
                state["connected"] += 1
                if state["connected"] == state["n"]:
                    state["ready"].set()
            if b"event: reconnect" in chunk:
                state["reconnects"] += 1
            buf += chunk
            last = 0
            for m in ID.finditer(buf):
                received[int(m.group(1))] = now
                last = m.end()
            buf = buf[last:] if last else buf[-64:]
    except asyncio.CancelledError:
        w.close()
        raise


async def run_clients(port: int, n: int, ready_q, go, seconds: float) -> tuple[list[dict[int, float]], int, float]:
    state = {"connected": 0, "n": n, "reconnects": 0, "ready": asyncio.Event()}
    results: list[dict[int, float]] = [{} for _ in range(n)]
    tasks = [asyncio.create_task(client(port, results[i], state)) for i in range(n)]
    await asyncio.wait_for(state["ready"].wait(), 60)
    ready_q.put(n)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, go.wait)
    cpu0 = own_cpu()
    await asyncio.sleep(seconds + 2.0)  # let the tail drain
    cpu = own_cpu() - cpu0
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return results, state["reconnects"], cpu


def own_autogroup(nice: int | None) -> None:
    """With --autogroup-nice: this process in a session (so a scheduler autogroup) of its own at that nice."""
    if nice is not None:
        with contextlib.suppress(OSError):
            os.setsid()
        Path("/proc/self/autogroup").write_text(str(nice))


def client_proc(port: int, n: int, ready_q, go, seconds: float, out: str, nice: int | None = None) -> None:
    own_autogroup(nice)
    results, reconnects, cpu = asyncio.run(run_clients(port, n, ready_q, go, seconds))
    Path(out).write_text(json.dumps({"results": results, "reconnects": reconnects, "cpu": cpu}))


def floor_server(port: int, rate: int, seconds: float, go, out: str, nice: int | None) -> None:
    """--floor: no tutti, no store — a bare asyncio server that writes the same frames at the same
    rate straight to the same clients, stamping each event as it writes it. What it measures is
    the machine's floor (loopback TCP, the clients' own CPU, the scheduler under the current load)."""
    own_autogroup(nice)

    async def main() -> None:
        writers: list[asyncio.StreamWriter] = []

        async def accept(reader: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            w.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n: tutti events stream\n\n")
            writers.append(w)

        server = await asyncio.start_server(accept, "127.0.0.1", port)
        await asyncio.get_running_loop().run_in_executor(None, go.wait)
        await asyncio.sleep(0.5)
        commits: dict[int, float] = {}
        cpu0, t0, seq, batch = own_cpu(), time.monotonic(), 0, max(1, rate // 100)
        while time.monotonic() - t0 < seconds:
            chunk = "".join(f"id: {seq + i + 1}\nevent: agent.working\ndata: {{\"seq\":{seq + i + 1},\"kind\":\"agent.working\","
                            f"\"data\":{{\"n\":{seq + i}}}}}\n\n" for i in range(batch)).encode()
            now = time.time()
            for i in range(batch):
                commits[seq + i + 1] = now
            for w in writers:
                w.write(chunk)
            seq += batch
            await asyncio.sleep(max(0.0, t0 + seq / rate - time.monotonic()))
        Path(out).write_text(json.dumps({"commits": commits, "cpu": own_cpu() - cpu0}))
        await asyncio.sleep(3600)  # until terminated, keeping the connections open
        server.close()

    asyncio.run(main())


class _Floor:
    """The floor server process with the bits of Popen the bench uses."""

    def __init__(self, proc) -> None:
        self.proc, self.pid = proc, proc.pid

    def terminate(self) -> None:
        self.proc.terminate()

    def wait(self, timeout: float) -> None:
        self.proc.join(timeout)


def start_server(tmp: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, TUTTI_HOME=str(tmp / "home"))
    server = subprocess.Popen([sys.executable, "-m", "tutti", "serve", "--port", str(port)], cwd=tmp, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("server did not start: " + server.stderr.read().decode()[-2000:])
            time.sleep(0.1)


def start_profiler(pid: int, out: str, seconds: float) -> subprocess.Popen | None:
    spy = shutil.which("py-spy")
    if spy is None:
        print("--profile: py-spy is not installed (pip install py-spy); no profile taken")
        return None
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "250", "--threads", "--nonblocking",
                             "--duration", str(int(seconds)), "--output", out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _frame_name(frame: str) -> str:
    """`func (path/to/file.py:12)` → `func (file.py)`."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1].split(':')[0].rstrip(')')})"


def summarise_profile(raw: str, top: int = 25) -> None:
    """py-spy's raw (collapsed) stacks → samples per thread, then the event loop thread's
    functions with the most samples, self and inclusive."""
    threads: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    for line in Path(raw).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n, parts = int(count), stack.split(";")
        thread = parts[0].split(": ", 1)[-1]
        threads[thread] = threads.get(thread, 0) + n
        if thread != "MainThread":
            continue
        frames = [_frame_name(f) for f in parts[1:]]
        if frames:
            own[frames[-1]] = own.get(frames[-1], 0) + n
        for f in set(frames):
            inclusive[f] = inclusive.get(f, 0) + n
    total = sum(threads.values())
    print(f"profile: {total} samples (active, not idle) by thread: "
          + ", ".join(f"{k} {v}" for k, v in sorted(threads.items(), key=lambda kv: -kv[1])[:6]))
    main = max(threads.get("MainThread", 0), 1)
    # Inclusive without the frames every sample shares (the loop's own callers).
    inclusive = {k: v for k, v in inclusive.items() if v < 0.75 * main}
    for title, table in (("self", own), ("inclusive", inclusive)):
        print(f"  event loop thread, top {title} (% of its samples):")
        for name, n in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            print(f"    {100 * n / main:5.1f}%  {name}")


def report(args, commits: dict[int, float], client_outs: list[dict], cpu: dict[str, float], wall: float) -> int:
    results = [got for out in client_outs for got in out["results"]]
    latencies = [(got[str(s)] - commits[s]) * 1000 for got in results for s in commits if str(s) in got]
    expected = len(commits) * args.clients
    missing = expected - len(latencies)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    reconnects = sum(out["reconnects"] for out in client_outs)
    if reconnects:
        print(f"{reconnects} clients were told to reconnect (too slow)")
    print(f"clients={args.clients} in {args.client_procs} processes rate={args.rate}/s seconds={args.seconds} "
          f"events={len(commits)}")
    print(f"delivered {len(latencies)}/{expected} frames (missing {missing})")
    print(f"latency ms: p50={q[49]:.1f} p90={q[89]:.1f} p99={q[98]:.1f} max={latencies[-1] if latencies else 0:.1f}")
    print(f"server CPU: {cpu['server']:.2f} s over {wall:.2f} s wall = {100 * cpu['server'] / wall:.0f}% of one core")
    print(f"writer CPU: {cpu['writer']:.2f} s · clients CPU: {cpu['clients']:.2f} s "
          f"({100 * cpu['clients'] / wall:.0f}% of one core) · machine: {os.cpu_count()} cores")
    return 0 if missing == 0 else 1


def run(args, tmp: Path, port: int, server, go) -> int:
    ctx = mp.get_context("spawn")
    ready_q = ctx.Queue()
    sizes = [args.clients // args.client_procs + (i < args.clients % args.client_procs) for i in range(args.client_procs)]
    outs = [str(tmp / f"clients-{i}.json") for i in range(len(sizes))]
    procs = [ctx.Process(target=client_proc, args=(port, n, ready_q, go, args.seconds + 0.5, out, args.autogroup_nice))
             for n, out in zip(sizes, outs) if n]
    for p in procs:
        p.start()
    for _ in procs:
        ready_q.get(timeout=60)
    commits_file = tmp / "commits.json"
    wproc = None
    if not args.idle and not args.floor:
        wproc = ctx.Process(target=writer, args=(str(tmp), args.rate, args.seconds, time.time() + 0.5, str(commits_file),
                                                  args.autogroup_nice))
        wproc.start()
    spy = start_profiler(server.pid, args.profile, args.seconds + 1) if args.profile else None
    cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
    go.set()
    for p in procs:
        p.join(args.seconds + 60)
    cpu = {"server": cpu_seconds(server.pid) - cpu0}
    wall = time.monotonic() - t0
    client_outs = [json.loads(Path(out).read_text()) for out in outs if Path(out).exists()]
    cpu["clients"] = sum(out["cpu"] for out in client_outs)
    if spy is not None:
        spy.wait(30)
    if args.idle:
        print(f"idle: {args.clients} clients connected, no events: server CPU {cpu['server']:.3f} s over "
              f"{wall:.1f} s wall = {100 * cpu['server'] / wall:.2f}% of one core")
        return 0
    if wproc is not None:
        wproc.join(30)
    deadline = time.monotonic() + 30
    while not commits_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    written = json.loads(commits_file.read_text())
    cpu["writer"] = written["cpu"]
    code = report(args, {int(k): v for k, v in written["commits"].items()}, client_outs, cpu, wall)
    if spy is not None and Path(args.profile).exists():
        summarise_profile(args.profile)
    return code


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--client-procs", type=int, default=2, help="processes the clients are spread over")
    ap.add_argument("--idle", action="store_true", help="no writer: the server's CPU with clients connected")
    ap.add_argument("--floor", action="store_true",
                    help="no tutti: a bare asyncio server writes the same frames to the same clients (the machine's "
                         "floor for this latency; 'writer' CPU is then that server's)")
    ap.add_argument("--profile", metavar="FILE", help="py-spy the server while it runs; raw stacks to FILE")
    ap.add_argument("--autogroup-nice", type=int, metavar="N",
                    help="root, Linux autogroups: give the bench's processes and the server sessions of their own at nice N (e.g. -10) so "
                         "other sessions' load on a shared machine weighs less; the figures then approximate a "
                         "quiet machine (say so when you report them)")
    args = ap.parse_args()
    if args.autogroup_nice is not None:
        own_autogroup(args.autogroup_nice)  # ends with our session

    tmp = Path(tempfile.mkdtemp(prefix="tutti-bench-sse-"))
    (tmp / "tutti.toml").write_text(TOML)
    port = free_port()
    go = mp.get_context("spawn").Event()
    if args.floor:
        proc = mp.get_context("spawn").Process(target=floor_server, args=(port, args.rate, args.seconds, go,
                                                      str(tmp / "commits.json"), args.autogroup_nice))
        proc.start()
        server = _Floor(proc)
        time.sleep(1.0)  # spawn + bind
    else:
        server = start_server(tmp, port)
    if args.autogroup_nice is not None:
        Path(f"/proc/{server.pid}/autogroup").write_text(str(args.autogroup_nice))
    try:
        return run(args, tmp, port, server, go)
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
