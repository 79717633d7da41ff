"""How fast the screen classifiers are: the watcher classifies a pane every time its output
settles, so this bounds the CPU cost of detection per agent.

    python bench/bench_classify.py [--rounds 200]

Prints, per runtime, the median and p95 time to classify one captured 200×50 screen (the
real fixture captures) and the total classifications per second on one core.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from tutti.runtimes.registry import get_adapter

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "runtimes" / "fixtures"
PREFIX = {"claude": "claude-code", "codex": "codex", "aider": "aider", "gemini": "gemini-cli",
          "openclaw": "openclaw"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()
    screens: dict[str, list[str]] = {}
    for path in sorted(FIXTURES.glob("*/*.txt")):
        screens.setdefault(PREFIX[path.stem.split("_", 1)[0]], []).append(path.read_text(encoding="utf-8"))
    total_n, total_t = 0, 0.0
    print(f"{'runtime':12} {'screens':>7} {'p50 µs':>8} {'p95 µs':>8}")
    for runtime, texts in screens.items():
        adapter = get_adapter(runtime)
        samples = []
        for _ in range(args.rounds):
            for text in texts:
                t0 = time.perf_counter()
                adapter.classify(text)
                samples.append(time.perf_counter() - t0)
        samples.sort()
        total_n += len(samples)
        total_t += sum(samples)
        p50 = statistics.median(samples) * 1e6
        p95 = samples[int(len(samples) * 0.95)] * 1e6
        print(f"{runtime:12} {len(texts):>7} {p50:>8.0f} {p95:>8.0f}")
    print(f"overall: {total_n / total_t:,.0f} classifications/s on one core ({total_n} samples)")


if __name__ == "__main__":
    main()
