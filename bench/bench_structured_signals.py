"""Cost of reading the structured state signals once per screen classification.

    python bench/bench_structured_signals.py

Claude: a state file found through a real process tree (cold: /proc walk; warm: remembered
pid). Codex: a sessions tree with N rollouts (cold: listing + first lines; warm: remembered
path, tail read only). Gemini: tail of a telemetry file. Prints figures; asserts nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from shared_dir import SHARED

from tutti import proctree
from tutti.runtimes.signals import SignalSources, read_structured

FIXTURES = SHARED / "fixtures/logs"
DATA = Path(__file__).resolve().parent.parent / "tests" / "runtimes" / "signals_data"


def timed(fn, n: int = 200) -> float:
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n * 1000


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    shell = subprocess.Popen(["/bin/sh", "-c", "sleep 120; true"])
    try:
        time.sleep(0.2)
        child = proctree.descendants(shell.pid)[1]
        sessions = tmp / "claude" / "sessions"
        sessions.mkdir(parents=True)
        (sessions / f"{child}.json").write_text(json.dumps({
            "pid": child, "status": "busy", "procStart": str(proctree.start_ticks(child)), "statusUpdatedAt": 1}))
        claude = SignalSources(runtime="claude-code", workdir=tmp, claude_config_dir=tmp / "claude")
        memo: dict = {}
        print(f"processes on this machine: {len(proctree.descendants(1))}")
        print(f"claude state file, cold (walk /proc):   {timed(lambda: read_structured(claude, pane_pid=shell.pid)):.3f} ms")
        print(f"claude state file, warm (memo pid):     "
              f"{timed(lambda: read_structured(claude, pane_pid=shell.pid, memo=memo)):.3f} ms")

        lines = (FIXTURES / "codex_rollout_sample.jsonl").read_text().splitlines()
        home = tmp / "codex"
        for i in range(300):
            meta = json.loads(lines[0])
            meta["payload"]["cwd"] = str(tmp / ("wt" if i == 299 else f"other{i}"))
            day = home / "sessions" / "2026" / "11" / f"{i % 28 + 1:02d}"
            day.mkdir(parents=True, exist_ok=True)
            path = day / f"rollout-{i}.jsonl"
            path.write_text("\n".join([json.dumps(meta), *lines[1:]]) + "\n")
            os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))
        codex = SignalSources(runtime="codex", workdir=tmp / "wt", codex_home=home)
        memo = {}
        print(f"codex rollout, 300 rollouts, cold:      {timed(lambda: read_structured(codex, pane_pid=None), 50):.3f} ms")
        print(f"codex rollout, warm (memo path):        "
              f"{timed(lambda: read_structured(codex, pane_pid=None, memo=memo)):.3f} ms")

        gem_home = tmp / "g"
        gem_home.mkdir()
        shutil.copy(DATA / "gemini_telemetry_429.log", gem_home / "gemini-telemetry.log")
        gemini = SignalSources(runtime="gemini-cli", workdir=tmp, gemini_telemetry=gem_home / "gemini-telemetry.log")
        size = (gem_home / "gemini-telemetry.log").stat().st_size // 1024
        print(f"gemini telemetry tail ({size} KiB):       {timed(lambda: read_structured(gemini, pane_pid=None)):.3f} ms")
    finally:
        for pid in proctree.descendants(shell.pid)[::-1]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shell.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
