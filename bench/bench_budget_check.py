"""Budget check cost: what `tt send` / `tt up` pay before acting when `[budget]` is active —
a first check (cold incremental scan of the agent logs) and the repeated checks after it
(nothing new to read; one SUM over the week's usage records and direct runs).

    python bench/bench_budget_check.py [--records 20000] [--repeat 50]

Prints figures; asserts nothing. Uses a throwaway workspace and TUTTI_HOME under a temp dir.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from shared_dir import SHARED

FIXTURES = SHARED / "fixtures/logs"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=20000, help="assistant messages in the generated log")
    ap.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TUTTI_HOME"] = str(Path(tmp) / "home")
        Path(os.environ["TUTTI_HOME"]).mkdir()
        (Path(os.environ["TUTTI_HOME"]) / "config.toml").write_text(
            '[[profile]]\nname = "work"\nprovider = "anthropic"\nplan = "api"\n')
        from tutti.budget import check
        from tutti.runtimes.prepare import agent_home
        from tutti.store.db import now_iso
        from tutti.workspace import load_workspace_at

        root = Path(tmp) / "ws"
        root.mkdir()
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
        (root / "tutti.toml").write_text(
            '[workspace]\nname = "bench"\n[workspace.auth]\ndefault_profile = "work"\n'
            '[[agent]]\nname = "a"\nruntime = "claude-code"\n'
            '[budget]\nworkspace_weekly_tokens = 1000000000000\n[budget.agent_weekly_tokens]\na = 1000000000000\n')
        ws = load_workspace_at(root)
        line = next(ln for ln in (FIXTURES / "claude_session_log_sample.jsonl").read_text().splitlines()
                    if '"msg_7823eb62644244b69dcc"' in ln)
        logs = agent_home(ws, "a") / ".claude" / "projects" / "-x"
        logs.mkdir(parents=True)
        stamp = now_iso()
        with (logs / "s.jsonl").open("w") as fh:
            for n in range(args.records):
                entry = json.loads(line)
                entry["message"]["id"] = f"msg_{n}"
                entry["timestamp"] = stamp
                fh.write(json.dumps(entry) + "\n")
        size_mb = (logs / "s.jsonl").stat().st_size / (1 << 20)
        env = {"HOME": str(Path(tmp) / "nohome")}
        t0 = time.perf_counter()
        check(ws, "send", "a", env=env)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(args.repeat):
            check(ws, "send", "a", env=env)
        warm = (time.perf_counter() - t0) / args.repeat
        print(f"log: {args.records} records, {size_mb:.1f} MB")
        print(f"first check (cold scan): {cold * 1000:.1f} ms")
        print(f"repeated check (incremental, nothing new): {warm * 1000:.2f} ms each over {args.repeat}")


if __name__ == "__main__":
    main()
