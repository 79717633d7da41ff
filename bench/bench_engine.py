"""Engine overhead: a 200-step DAG of `true` commands vs spawning `true` 200 times.

    python bench/bench_engine.py [--steps 200] [--width 1]

`--width 1` is a chain (every step depends on the previous one); `--width N` makes waves of N
independent steps. The engine's cost per step is two SQLite transactions (intent + event,
outcome + event), the intent file, the checkpoint rewrite and the per-step log file — the
price of crash-safe resume. Prints totals and per-step overhead.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def workflow_toml(steps: int, width: int) -> str:
    lines = ['[workspace]\nname = "bench"\n\n[[workflow]]\nname = "dag"\n']
    for i in range(1, steps + 1):
        lines.append('[[workflow.step]]\ntype = "command"\nrun = "true"\nfail_mode = "closed"\n')
        if width > 1:
            wave_start = ((i - 1) // width) * width  # steps of one wave depend on the previous wave
            deps = list(range(max(1, wave_start - width + 1), wave_start + 1)) if wave_start else []
            lines.append(f"depends_on = {deps}\n")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--width", type=int, default=1)
    args = ap.parse_args()
    os.environ.setdefault("TUTTI_HOME", tempfile.mkdtemp(prefix="tutti-bench-home-"))

    from tutti import proc
    from tutti.ops.run import run_workflow
    from tutti.workspace import load_workspace_at

    t0 = time.perf_counter()
    for _ in range(args.steps):
        subprocess.run(["true"], check=True)
    bare_subprocess = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(args.steps):
        proc.run(proc.shell_argv("true"))
    bare_proc = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "tutti.toml").write_text(workflow_toml(args.steps, args.width))
        ws = load_workspace_at(root)
        t0 = time.perf_counter()
        result = run_workflow(ws, "dag", strict=True)
        engine = time.perf_counter() - t0
        assert result.success, result.failure_message()
        events = ws.store.latest_seq()

    n = args.steps
    print(f"steps={n} width={args.width} events={events}")
    print(f"{'spawn true (subprocess.run)':34} {bare_subprocess:7.3f} s  {bare_subprocess / n * 1000:6.2f} ms/step")
    print(f"{'spawn sh -c true (tutti.proc.run)':34} {bare_proc:7.3f} s  {bare_proc / n * 1000:6.2f} ms/step")
    print(f"{'engine, 200-step DAG':34} {engine:7.3f} s  {engine / n * 1000:6.2f} ms/step")
    print(f"{'engine overhead vs proc.run':34} {engine - bare_proc:7.3f} s  {(engine - bare_proc) / n * 1000:6.2f} ms/step")


if __name__ == "__main__":
    main()
