"""What loading a config costs: every `tt` command that touches a workspace parses and
validates tutti.toml first, and `tt init` adds template detection and rendering.

    python bench/bench_config.py [--rounds 200]

Prints the median and p95 in-process time to load + validate the largest real config
(the original's dogfood tutti.toml, 14 kB, 6 agents, 3 workflows), to collect every problem
(`diagnose_config`), to detect + render a template, and the wall time of a cold
`tt init --list` / `tt schema` subprocess next to bare `python -c pass`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shared_dir import SHARED

FIXTURE = SHARED / "fixtures/configs/tutti.toml"


def timed(fn, rounds: int) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def wall(argv: list[str], rounds: int = 5) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=False)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()

    from tutti.config import templates
    from tutti.config.load import diagnose_config, load_config

    source = FIXTURE if FIXTURE.exists() else None
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if source is None:
            source = root / "tutti.toml"
            source.write_text(templates.render(templates.builtin("gstack-startup"), root))
        (root / "pyproject.toml").write_text("[tool.ruff]\n")
        (root / "tests").mkdir()
        rows = [
            ("load_config (parse + model + rules + warnings)", timed(lambda: load_config(source), args.rounds)),
            ("diagnose_config (every problem)", timed(lambda: diagnose_config(source), args.rounds)),
            ("template pick + render (python repo)",
             timed(lambda: templates.render(templates.pick(root).template, root), args.rounds)),
        ]
    print(f"config: {source} ({source.stat().st_size} bytes), {args.rounds} rounds")
    for label, (median, p95) in rows:
        print(f"  {label:<48} median {median:6.2f} ms   p95 {p95:6.2f} ms")
    print("cold processes (median of 5):")
    for label, argv in [("python -c pass", [sys.executable, "-c", "pass"]),
                        ("tt --version", [sys.executable, "-m", "tutti", "--version"]),
                        ("tt init --list", [sys.executable, "-m", "tutti", "init", "--list"]),
                        ("tt schema", [sys.executable, "-m", "tutti", "schema"])]:
        print(f"  {label:<20} {wall(argv):7.1f} ms")


if __name__ == "__main__":
    main()
