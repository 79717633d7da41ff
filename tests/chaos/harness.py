"""What every chaos trial checks, read from the store, the side-effect log and /proc."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tutti import proctree

KILL_MODES = ("runner", "group")


def tt(root: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    """`tt ...` as its own process group (so killing "its group" never reaches pytest)."""
    return subprocess.Popen([sys.executable, "-m", "tutti", *args], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, **(env or {})})


def kill(proc: subprocess.Popen, mode: str) -> None:
    """`runner`: SIGKILL the tt process alone; `group`: SIGKILL its whole process group."""
    try:
        if mode == "group":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.send_signal(signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate(timeout=60)


def db(root: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(root / ".tutti" / "tutti.db", timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def run_ids(root: Path) -> list[str]:
    if not (root / ".tutti" / "tutti.db").exists():
        return []
    with db(root) as conn:
        try:
            return [r["run_id"] for r in conn.execute("SELECT run_id FROM runs ORDER BY started_at")]
        except sqlite3.OperationalError:
            return []


def effects(path: Path) -> Counter:
    """The side-effect log: one line per effect (commands append with O_APPEND)."""
    return Counter(path.read_text().split()) if path.exists() else Counter()


def event_problems(root: Path) -> list[str]:
    """seq must be 1..max with no gap or duplicate; every step attempt has exactly one started
    event; every recorded outcome has its terminal event after the last start."""
    problems = []
    with db(root) as conn:
        seqs = [r[0] for r in conn.execute("SELECT seq FROM events ORDER BY seq")]
        if seqs != list(range(1, len(seqs) + 1)):
            problems.append(f"event seqs not contiguous: {len(seqs)} rows, max {seqs[-1] if seqs else 0}")
        for s in conn.execute("SELECT * FROM steps"):
            evs = [(r["kind"], r["seq"]) for r in conn.execute(
                "SELECT kind, seq FROM events WHERE run_id = ? AND step = ? AND kind LIKE 'workflow.step.%' "
                "ORDER BY seq", (s["run_id"], s["step_key"]))]
            started = [seq for kind, seq in evs if kind == "workflow.step.started"]
            if len(started) != s["attempt"]:
                problems.append(f"{s['run_id']} {s['step_key']}: {len(started)} started events for attempt {s['attempt']}")
            if s["outcome"] is not None:
                ends = [seq for kind, seq in evs if kind != "workflow.step.started" and started and seq > started[-1]]
                if len(ends) != 1:
                    problems.append(f"{s['run_id']} {s['step_key']}: {len(ends)} terminal events after the last start")
    return problems


def leftovers(root: Path, ids: list[str]) -> list[str]:
    """Processes still alive that belong to these runs: supervisors recorded in the store (pid +
    start time) and anything carrying one of the run ids in its environment."""
    found = []
    with db(root) as conn:
        try:
            rows = conn.execute("SELECT sup_pid, sup_start, child_pid, child_start FROM step_attempts").fetchall()
        except sqlite3.OperationalError:
            rows = []
    for r in rows:
        for pid, start in ((r["sup_pid"], r["sup_start"]), (r["child_pid"], r["child_start"])):
            if pid and proctree.running(pid) and proctree.start_ticks(pid) == start:
                found.append(f"pid {pid} (recorded, same start time)")
    needles = {f"TUTTI_RUN_ID={i}".encode() for i in ids}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = set((entry / "environ").read_bytes().split(b"\0"))
        except OSError:
            continue
        if env & needles and proctree.running(int(entry.name)):
            found.append(f"pid {entry.name} (TUTTI_RUN_ID)")
    return found


def wait_no_leftovers(root: Path, ids: list[str], timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        left = leftovers(root, ids)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def resume_until_done(root: Path, run_id: str, *, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tutti", "run", "--resume", run_id, "--json"], cwd=root,
                          capture_output=True, text=True, timeout=timeout)


def run_status(root: Path, run_id: str) -> str:
    with db(root) as conn:
        return conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()["status"]


@dataclass
class Tally:
    """Figures of a chaos test (printed; the README quotes them)."""

    trials: Counter = field(default_factory=Counter)
    double_effects: int = 0
    resent_prompts: int = 0
    orphans: int = 0
    event_problems: int = 0

    def line(self) -> str:
        return json.dumps({"trials": dict(self.trials), "double_effects": self.double_effects,
                           "resent_prompts": self.resent_prompts, "orphans": self.orphans,
                           "lost_or_duplicated_events": self.event_problems})


def adopted(root: Path) -> int:
    """Steps a resume took over instead of redoing: command tries adopted (finished or still
    running after the crash), prompts re-attached, review requests re-used."""
    with db(root) as conn:
        rows = conn.execute("SELECT outcome FROM steps WHERE outcome IS NOT NULL").fetchall()
    effects = [json.loads(r["outcome"]).get("side_effects", {}) for r in rows]
    return sum(1 for e in effects if (e.get("supervised") or {}).get("adopted") or e.get("reattached")
               or e.get("resumed_request"))


def report(step_type: str, mode: str, *, double_effects: int = 0, resent_prompts: int = 0, orphans: int = 0,
           event_problems: int = 0, adopted: int = 0) -> None:
    """Append one trial's figures to $TUTTI_CHAOS_REPORT (JSON lines) when set — the numbers
    `python tests/chaos/summary.py FILE` adds up."""
    path = os.environ.get("TUTTI_CHAOS_REPORT")
    if not path:
        return
    line = json.dumps({"step_type": step_type, "mode": mode, "double_effects": double_effects,
                       "resent_prompts": resent_prompts, "orphans": orphans, "event_problems": event_problems,
                       "adopted": adopted})
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)
