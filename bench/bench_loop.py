"""The SDLC loop's own overhead per work item, and items per minute at 1, 3 and 8 lanes.

    python bench/bench_loop.py [--lanes 1,3,8] [--items 8,12,16] [--local]

Agents finish instantly: the implement step is a command that writes and commits a module
(no tmux, no model), so what is measured is the loop itself — claim (store lease + the GitHub
`automation-claimed` label), the item's checkpointed workflow run, the `ci` review round (the
verify command in the lane's worktree), the PR (push + open), the merge queue (squash onto the
tip, verify, push, merge through the PR API) and the close (comment + close the issue) — all
against the scripted forge on 127.0.0.1 over real git. `--local` uses the local queue intake
and lands onto a local branch instead (no forge). Prints the per-phase breakdown from the
event spine and items/minute for each lane count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

CHECK = """import glob, importlib.util, sys
for path in sorted(glob.glob("mod_*.py")):
    spec = importlib.util.spec_from_file_location(path[:-3], path)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    if not mod.ok():
        sys.exit(1)
"""
BS = "\\" * 2  # a TOML basic string's escaped backslash, so printf sees \n
TOML = f"""
[workspace]
name = "bench"

[defaults]
runtime = "fake"

[[agent]]
name = "implementer"

[[workflow]]
name = "build"

[[workflow.step]]
id = "implement"
type = "command"
agent = "implementer"
cwd = "agent_worktree"
fail_mode = "closed"
run = "printf 'def ok():{BS}n    return True{BS}n' > mod_{{{{item.id}}}}.py && git add -A && git commit -qm {{{{item.title}}}}"

@INTAKE@

[loop]
workflow = "build"
lanes = 1
reviewers = ["ci"]
lease_ttl_secs = 60
poll_secs = 0.2
@FORGE@

[loop.merge_queue]
verify = ["python3 check.py"]
"""
GITHUB_INTAKE = '[[intake]]\nname = "issues"\nkind = "github"\nrepo = "acme/app"\nlabels = ["ready"]\n'
QUEUE_INTAKE = '[[intake]]\nname = "q"\nkind = "queue"\n'


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def make_workspace(base: Path, forge, n_items: int, local: bool) -> Path:
    root = base / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "check.py").write_text(CHECK)
    (root / ".gitignore").write_text(".tutti/\ntutti.toml\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    toml = TOML.replace("@INTAKE@", QUEUE_INTAKE if local else GITHUB_INTAKE)
    toml = toml.replace("@FORGE@", "" if local else 'remote = "origin"\npr = true')
    (root / "tutti.toml").write_text(toml)
    if local:
        from tutti.intake import local as queue
        from tutti.workspace import load_workspace_at

        ws = load_workspace_at(root)
        for i in range(n_items):
            queue.add_item(ws.store, "queue", f"add mod {i}")
    else:
        meta = forge.create_repo("acme/app")
        git(root, "remote", "add", "origin", meta["clone_url"])
        git(root, "push", "-q", "origin", "main")
        for i in range(n_items):
            forge.create_issue("acme/app", f"add mod {i}", labels=["ready"])
    return root


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def phases(ws) -> dict[str, list[float]]:
    """Per item: claim → run started → PR opened → review round done → landed → closed."""
    names = {"lease.acquired": "claimed", "loop.item.started": "started", "loop.pr.opened": "pr",
             "loop.review.round": "reviewed", "loop.item.landed": "landed", "loop.item.closed": "closed"}
    marks: dict[str, dict[str, float]] = {}
    run_of: dict[str, str] = {}  # the item's workflow run id -> item key
    for e in ws.store.read_events(limit=100000):
        key = (e.data or {}).get("key")
        if key and e.kind in names:
            marks.setdefault(key, {}).setdefault(names[e.kind], _ts(e.ts))
            if e.kind == "loop.item.started" and e.run_id:
                run_of[e.run_id] = key
        elif e.run_id in run_of and e.kind.startswith("workflow.") and e.kind.endswith(("completed", "failed")):
            marks[run_of[e.run_id]].setdefault("run_done", _ts(e.ts))
    out: dict[str, list[float]] = {k: [] for k in ("claim", "workflow run", "push+open PR", "ci review",
                                                    "queue+merge", "close issue", "total")}
    for m in marks.values():
        if not {"claimed", "started", "reviewed", "landed", "closed"} <= set(m):
            continue
        pr = m.get("pr", m["reviewed"])
        ran = m.get("run_done", pr)
        out["claim"].append(m["started"] - m["claimed"])
        out["workflow run"].append(ran - m["started"])
        if "pr" in m:
            out["push+open PR"].append(m["pr"] - ran)
            out["ci review"].append(m["reviewed"] - m["pr"])
        out["queue+merge"].append(m["landed"] - m["reviewed"])
        out["close issue"].append(m["closed"] - m["landed"])
        out["total"].append(m["closed"] - m["claimed"])
    return out


def one(lanes: int, n_items: int, local: bool) -> tuple[float, dict[str, list[float]], int]:
    from tutti.ops.loop import run_loop
    from tutti.testing.forge import ScriptedForge
    from tutti.workspace import load_workspace_at

    with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
        base = Path(tmp)
        os.environ["TUTTI_HOME"] = str(base / "home")
        with ScriptedForge(base / "forge") as forge:
            os.environ["GITHUB_API_URL"], os.environ["GITHUB_TOKEN"] = forge.url, "bench"
            root = make_workspace(base, forge, n_items, local)
            ws = load_workspace_at(root)
            started = time.perf_counter()
            report = run_loop(ws, lanes=lanes, once=True)
            wall = time.perf_counter() - started
            return wall, phases(ws), report.merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", default="1,3,8")
    parser.add_argument("--items", default="8,12,16", help="items per run, one per --lanes entry")
    parser.add_argument("--local", action="store_true", help="local queue and local target (no forge)")
    args = parser.parse_args()
    lanes = [int(x) for x in args.lanes.split(",")]
    items = [int(x) for x in args.items.split(",")]
    items += [items[-1]] * (len(lanes) - len(items))
    print(f"tutti loop benchmark ({'local queue' if args.local else 'scripted forge'}, instant agents, "
          f"{os.cpu_count()} CPUs)")
    for n_lanes, n_items in zip(lanes, items):
        wall, ph, merged = one(n_lanes, n_items, args.local)
        print(f"\nlanes={n_lanes}: {merged}/{n_items} merged in {wall:.1f} s → {merged / wall * 60:.1f} items/min, "
              f"{wall / max(merged, 1):.2f} s/item wall")
        for name, values in ph.items():
            if values:
                print(f"  {name:<15} median {statistics.median(values):6.2f} s   max {max(values):6.2f} s")


if __name__ == "__main__":
    main()
