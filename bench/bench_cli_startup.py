"""Cold start-up cost of the CLI, the thing a user feels on every command.

    python bench/bench_cli_startup.py [--runs 15]

Prints the median and min wall time of `python -c pass` (the interpreter floor), `tt --version`
and `tt run --list` (loads tutti.toml through the config models), each in a fresh process,
and the overhead of each over the floor.
"""

from __future__ import annotations

import argparse
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


def measure(argv: list[str], cwd: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        res = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        times.append(time.perf_counter() - t0)
        if res.returncode != 0:
            raise SystemExit(f"{argv} failed: {res.stderr.decode()[-500:]}")
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "tutti.toml").write_text(CONFIG)
        env_cmds = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "tt --version": [sys.executable, "-m", "tutti", "--version"],
            "tt run --list": [sys.executable, "-m", "tutti", "run", "--list"],
        }
        measure(env_cmds["tt --version"], root, 2)  # warm the OS page cache, not Python's
        results = {name: measure(argv, root, args.runs) for name, argv in env_cmds.items()}
    floor = statistics.median(results["python -c pass"])
    print(f"{'command':18} {'median ms':>10} {'min ms':>8} {'over floor ms':>14}   (n={args.runs})")
    for name, times in results.items():
        med = statistics.median(times)
        print(f"{name:18} {med * 1000:10.1f} {min(times) * 1000:8.1f} {(med - floor) * 1000:14.1f}")


if __name__ == "__main__":
    main()
