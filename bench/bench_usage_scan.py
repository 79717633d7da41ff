"""Usage scanning cost: a first scan of large Claude Code / Codex logs, then the incremental
rescans `tt usage` / `tt status` do (only appended bytes are read).

    python bench/bench_usage_scan.py [--mb 50]

Prints figures; asserts nothing. Uses a throwaway workspace under a temp dir.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from shared_dir import SHARED

FIXTURES = SHARED / "fixtures/logs"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=50.0, help="total size of the generated logs")
    args = ap.parse_args()
    from tutti.ops.usage import usage_report
    from tutti.runtimes.prepare import agent_home
    from tutti.usage.scan import scan
    from tutti.workspace import load_workspace_at

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        root.mkdir()
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
        (root / "tutti.toml").write_text('[workspace]\nname = "bench"\n\n[[agent]]\nname = "a"\nruntime = "claude-code"\n'
                                         '\n[[agent]]\nname = "b"\nruntime = "codex"\n')
        ws = load_workspace_at(root)
        claude_line = next(ln for ln in (FIXTURES / "claude_session_log_sample.jsonl").read_text().splitlines()
                           if '"msg_7823eb62644244b69dcc"' in ln)
        filler = next(ln for ln in (FIXTURES / "claude_session_log_sample.jsonl").read_text().splitlines()
                      if '"agent_listing_delta"' in ln)
        target = int(args.mb * (1 << 20) / 2)
        claude_dir = agent_home(ws, "a") / ".claude" / "projects" / "-x"
        claude_dir.mkdir(parents=True)
        n = 0
        with (claude_dir / "s.jsonl").open("w") as fh:
            size = 0
            while size < target:
                entry = json.loads(claude_line)
                entry["message"]["id"] = f"msg_{n}"
                line = json.dumps(entry) + "\n" + filler + "\n"
                fh.write(line)
                size += len(line)
                n += 1
        codex_dir = agent_home(ws, "b") / ".codex" / "sessions" / "2026" / "11" / "24"
        codex_dir.mkdir(parents=True)
        rollout = (FIXTURES / "codex_rollout_sample.jsonl").read_text().splitlines()
        head, body = rollout[:8], rollout[8:]
        with (codex_dir / "rollout-x.jsonl").open("w") as fh:
            fh.write("\n".join(head) + "\n")
            size, i = 0, 0
            while size < target:
                for ln in body:
                    if '"token_count"' in ln:
                        e = json.loads(ln)
                        for k in ("input_tokens", "cached_input_tokens", "output_tokens", "total_tokens"):
                            e["payload"]["info"]["total_token_usage"][k] += i * 1000
                        ln = json.dumps(e)
                    fh.write(ln + "\n")
                    size += len(ln) + 1
                i += 1

        env = {"HOME": str(Path(tmp) / "nohome")}
        t = time.perf_counter()
        first = scan(ws, env)
        t_first = time.perf_counter() - t
        t = time.perf_counter()
        again = scan(ws, env)
        t_again = time.perf_counter() - t
        with (claude_dir / "s.jsonl").open("a") as fh:
            entry = json.loads(claude_line)
            entry["message"]["id"] = "msg_new"
            fh.write(json.dumps(entry) + "\n")
        t = time.perf_counter()
        appended = scan(ws, env)
        t_append = time.perf_counter() - t
        t = time.perf_counter()
        report = usage_report(ws, env=env)
        t_report = time.perf_counter() - t

        mb = first.bytes_read / (1 << 20)
        print(f"logs: {mb:.1f} MiB in {first.files_read} files, {first.records} usage records")
        print(f"first scan:        {t_first * 1000:8.1f} ms  ({mb / t_first:.0f} MiB/s)")
        print(f"rescan, no change: {t_again * 1000:8.1f} ms  (bytes read: {again.bytes_read})")
        print(f"rescan, +1 line:   {t_append * 1000:8.1f} ms  (bytes read: {appended.bytes_read})")
        print(f"tt usage report:   {t_report * 1000:8.1f} ms  (total tokens {report.total.total_tokens:,})")


if __name__ == "__main__":
    main()
