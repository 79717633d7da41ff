"""Cold start-up cost of the CLI, the thing a user feels on every command.

    python bench/bench_cli_startup.py [--runs 15] [--agents 20]

Prints the median and min wall time of `python -c pass` (the interpreter floor), `tt --version`,
`tt run --list` (warm: served from the validated-config cache; cold: the cache is removed
before each run, so tutti.toml goes through the pydantic models), `tt runs list`, and
`tt status` with N fake agents running in tmux (a private server, `TUTTI_TMUX_SOCKET`) — warm
(the config from the cache, no pydantic) and cold (cache removed before each run) — and
`tt doctor` in that workspace, each in a fresh process, with the overhead over the floor and
the ratio to it. The commands take turns (run 1 of each, run 2 of each, ...), so load from
elsewhere on the machine falls on all of them alike.

Bytecode: an installed package has its `.pyc` files, so by default the children write and
read theirs under a private `PYTHONPYCACHEPREFIX` (nothing lands in the source tree), even when
the calling environment sets `PYTHONDONTWRITEBYTECODE` (this sandbox does: every tutti module
was compiled from source on every command). `--no-pyc` measures that environment as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """[workspace]
name = "bench"

[[agent]]
name = "dev"
runtime = "claude-code"

[[workflow]]
name = "verify"
description = "tests and lint"
[[workflow.step]]
id = "tests"
type = "command"
run = "python -m pytest -q"
fail_mode = "closed"
[[workflow.step]]
type = "command"
run = "ruff check ."
"""


def measure(argv: list[str], cwd: Path, runs: int, env: dict[str, str], before=None) -> list[tuple[float, float]]:
    """(wall seconds, CPU seconds of the child) per run. CPU is the steadier figure on a loaded
    machine; wall is what a user feels."""
    out = []
    for _ in range(runs):
        if before is not None:
            before()
        with tempfile.TemporaryFile() as err:
            t0 = time.perf_counter()
            child = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, env=env)
            _, status, usage = os.wait4(child.pid, 0)
            wall = time.perf_counter() - t0
            child.returncode = os.waitstatus_to_exitcode(status)
            if child.returncode != 0:
                err.seek(0)
                raise SystemExit(f"{argv} failed: {err.read().decode()[-500:]}")
        out.append((wall, usage.ru_utime + usage.ru_stime))
    return out


def fake_agents_config(n: int) -> str:
    agents = "".join(f'[[agent]]\nname = "a{i:02d}"\n' for i in range(n))
    return f'[workspace]\nname = "benchst"\n\n[defaults]\nruntime = "fake"\nworktree = false\n\n{agents}'


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--agents", type=int, default=20)
    ap.add_argument("--no-pyc", action="store_true", help="keep the environment's bytecode settings")
    ap.add_argument("--raw", metavar="FILE", help="also write every (wall s, cpu s) sample as JSON (to pool runs)")
    args = ap.parse_args()
    tt = [sys.executable, "-m", "tutti"]
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        root = Path(tmp) / "ws"
        root.mkdir()
        (root / "tutti.toml").write_text(CONFIG)
        (root / ".tutti").mkdir()
        agents_root = Path(tmp) / "agents"
        agents_root.mkdir()
        subprocess.run(["git", "init", "-q", str(agents_root)], check=True)
        subprocess.run(["git", "-C", str(agents_root), "commit", "-q", "--allow-empty", "-m", "init"], check=True,
                       env={**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b",
                            "GIT_COMMITTER_EMAIL": "b@x"})
        (agents_root / "tutti.toml").write_text(fake_agents_config(args.agents))
        socket = f"tutti-bench-{os.getpid()}"
        env = {**os.environ, "TUTTI_HOME": str(Path(tmp) / "home"), "TUTTI_TMUX_SOCKET": socket}
        env.pop("TMUX", None)
        if not args.no_pyc:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pyc")
        cache = root / ".tutti" / "cache"
        try:
            subprocess.run([*tt, "up"], cwd=agents_root, env=env, check=True, stdout=subprocess.DEVNULL)
            measure([*tt, "--version"], root, 2, env)  # warm the OS page cache (and write the .pyc files)
            measure([*tt, "run", "--list"], root, 1, env)  # writes the config cache
            cmds = [
                ("python -c pass", [sys.executable, "-c", "pass"], root, None),
                ("tt --version", [*tt, "--version"], root, None),
                ("tt run --list", [*tt, "run", "--list"], root, None),
                ("tt run --list cold", [*tt, "run", "--list"], root, lambda: shutil.rmtree(cache, ignore_errors=True)),
                ("tt runs list", [*tt, "runs", "list"], root, None),
                (f"tt status ({args.agents} agents)", [*tt, "status"], agents_root, None),
                (f"tt status cold ({args.agents})", [*tt, "status"], agents_root,
                 lambda: shutil.rmtree(agents_root / ".tutti" / "cache", ignore_errors=True)),
                (f"tt doctor ({args.agents} agents)", [*tt, "doctor"], agents_root, None),
            ]
            measure([*tt, "status"], agents_root, 1, env)
            # Round-robin (one run of each command, N times) rather than N runs of one command
            # then the next: a burst of load from elsewhere then hits every command alike.
            results: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in cmds}
            for _ in range(args.runs):
                for name, argv, cwd, before in cmds:
                    results[name] += measure(argv, cwd, 1, env, before)
        finally:
            subprocess.run([*tt, "down"], cwd=agents_root, env=env, capture_output=True)
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    if args.raw:
        Path(args.raw).write_text(json.dumps(results))
    floor = statistics.median(w for w, _ in results["python -c pass"])
    floor_cpu = statistics.median(c for _, c in results["python -c pass"])
    print(f"{'command':26} {'median ms':>10} {'min ms':>8} {'over floor':>11} {'x floor':>8} {'cpu ms':>7} "
          f"{'cpu x floor':>11}   (n={args.runs}, {'no .pyc' if args.no_pyc else '.pyc cached'})")
    for name, pairs in results.items():
        med = statistics.median(w for w, _ in pairs)
        cpu = statistics.median(c for _, c in pairs)
        print(f"{name:26} {med * 1000:10.1f} {min(w for w, _ in pairs) * 1000:8.1f} {(med - floor) * 1000:11.1f} "
              f"{med / floor:8.1f} {cpu * 1000:7.0f} {cpu / floor_cpu:11.1f}")


if __name__ == "__main__":
    main()
