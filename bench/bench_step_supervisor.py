"""What the step supervisor costs per command step: a chain of `true` commands run supervised
(the default: a `python -I -S stepsup.py` process per try that outlives `tt`) vs
`idempotent = true` (the command started directly by `tt`).

    python bench/bench_step_supervisor.py [--steps 100]

Prints the wall time per step of each and the difference — the price of "no orphan, no twin".
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def toml(steps: int, idempotent: bool) -> str:
    step = '[[workflow.step]]\ntype = "command"\nrun = "true"\nfail_mode = "closed"\n'
    if idempotent:
        step += "idempotent = true\n"
    return '[workspace]\nname = "bench"\n\n[[workflow]]\nname = "chain"\n' + "\n".join([step] * steps)


def per_step(steps: int, idempotent: bool) -> float:
    from tutti.ops.run import run_workflow
    from tutti.workspace import load_workspace_at

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        (root / "tutti.toml").write_text(toml(steps, idempotent))
        ws = load_workspace_at(root)
        run_workflow(ws, "chain", strict=True)  # warm: store created, modules imported
        t0 = time.perf_counter()
        result = run_workflow(ws, "chain", strict=True)
        elapsed = time.perf_counter() - t0
        assert result.success, result.failure_message()
    return elapsed / steps * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=100)
    args = ap.parse_args()
    os.environ.setdefault("TUTTI_HOME", tempfile.mkdtemp(prefix="tutti-bench-home-"))
    direct = per_step(args.steps, idempotent=True)
    supervised = per_step(args.steps, idempotent=False)
    print(f"steps: {args.steps} (chain of `true`), cpus: {os.cpu_count()}, load: {os.getloadavg()[0]:.2f}")
    print(f"idempotent (direct):  {direct:7.2f} ms/step")
    print(f"supervised (default): {supervised:7.2f} ms/step")
    print(f"supervisor overhead:  {supervised - direct:7.2f} ms/step")


if __name__ == "__main__":
    main()
