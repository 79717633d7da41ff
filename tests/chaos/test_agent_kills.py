"""SIGKILL a `tt run` of an agent pipeline — prompt (artifact) → prompt → command → review → land,
real tmux and the shipped fake agent — while a chosen step is in flight (seeded: which step and
how long after it started), killing the runner, its process group, or the runner and the
session watcher; then `tt run --resume`. Each agent must have received its prompt exactly once
(the fake agent records every prompt it gets), the land must have happened once, no process of
the run may be left, and the event seqs must be contiguous."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from tests.conftest import git
from tests.e2e.test_pipeline import PIPELINE, agents
from tests.helpers import wait_until

from .conftest import seed, trials
from .harness import (
    adopted,
    db,
    event_problems,
    kill,
    report,
    resume_until_done,
    run_ids,
    run_status,
    tt,
    wait_no_leftovers,
)

pytestmark = pytest.mark.slow
STEP_TYPES = {1: "prompt", 2: "prompt", 3: "command", 4: "review", 5: "land"}
MODES = ("runner", "group", "watcher")


def _prompts(root: Path, agent: str) -> list[str]:
    path = root / ".records" / f"{agent}.jsonl"
    return [json.loads(line)["prompt"] for line in path.read_text().splitlines()] if path.exists() else []


def _started(root: Path, index: int) -> bool:
    if not (root / ".tutti" / "tutti.db").exists():
        return False
    with db(root) as conn:
        try:
            return conn.execute("SELECT 1 FROM steps WHERE step_index = ?", (index,)).fetchone() is not None
        except Exception:  # noqa: BLE001 - the schema may not exist yet
            return False


def _kill_watchers() -> int:
    """SIGKILL the session watcher(s) of this test's tmux server."""
    marker = f"TUTTI_TMUX_SOCKET={os.environ['TUTTI_TMUX_SOCKET']}".encode()
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0") and \
                    b"tutti.supervisor" in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
        except OSError:
            continue
    return killed


RECEIVER = {1: "planner", 2: "implementer", 4: "reviewer"}


def _wait_for_delivery(root: Path, step: int, proc) -> None:
    """Prompt and review steps: kill while the agent works on the delivered prompt (or just after
    it finished) — the moment the issue's trials re-sent prompts at — not during agent start-up."""
    agent = RECEIVER.get(step)
    if agent is not None:
        wait_until(lambda: _prompts(root, agent) or proc.poll() is not None, timeout=240, interval=0.02,
                   what=f"{agent} to receive its prompt")


CASES = [(mode, n) for mode in MODES for n in range(trials(1 if mode == "runner" else 0))]


@pytest.mark.parametrize(("mode", "n"), CASES, ids=[f"{m}-{n}" for m, n in CASES])
def test_killed_agent_pipeline_resumes_without_resending_or_relanding(agent_pipeline, mode, n):
    rng = random.Random(f"{seed()}-agents-{mode}-{n}")
    step = 1 + (n + MODES.index(mode)) % 5  # every step type in turn; the moment within it is random
    delay = rng.uniform(0.0, 1.5)
    note = f"seed={seed()} mode={mode} trial={n} step={step} +{delay:.2f}s"
    root = agent_pipeline(agents("approve"), PIPELINE.replace("REVIEW_EXTRA", ""))
    proc = tt(root, "run", "pipeline", "--json")
    wait_until(lambda: _started(root, step) or proc.poll() is not None, timeout=240, interval=0.05,
               what=f"step {step} to start ({note})")
    _wait_for_delivery(root, step, proc)
    time.sleep(delay)
    kill(proc, "runner" if mode == "watcher" else mode)
    if mode == "watcher":
        _kill_watchers()
    run_id = run_ids(root)[0]
    if run_status(root, run_id) != "succeeded":
        res = resume_until_done(root, run_id, timeout=400)
        assert res.returncode == 0, f"{note}: {res.stdout}{res.stderr}"
    assert run_status(root, run_id) == "succeeded", note
    sent = {a: len(_prompts(root, a)) for a in ("planner", "implementer", "reviewer")}
    landed = git(root, "log", "--format=%s", "main").splitlines().count("feat: calc module")
    problems, left = event_problems(root), wait_no_leftovers(root, run_ids(root))
    report(STEP_TYPES[step], mode, double_effects=max(0, landed - 1), orphans=len(left),
           resent_prompts=sum(max(0, c - 1) for c in sent.values()), event_problems=len(problems),
           adopted=adopted(root))
    assert sent == {"planner": 1, "implementer": 1, "reviewer": 1}, f"{note}: {sent}"
    assert landed == 1, note
    assert problems == [], note
    assert left == [], note
    assert subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True).stdout == ""


SERVE_CASES = list(range(trials(0)))


@pytest.mark.parametrize("n", SERVE_CASES)
def test_sigkilled_serve_mid_pipeline_is_resumed_by_the_next_serve_without_resending(agent_pipeline, n):
    from .test_serve import _serve, _stop

    rng = random.Random(f"{seed()}-agents-serve-{n}")
    step, delay = 1 + n % 5, rng.uniform(0.0, 1.5)
    note = f"seed={seed()} mode=serve trial={n} step={step} +{delay:.2f}s"
    root = agent_pipeline(agents("approve"), PIPELINE.replace("REVIEW_EXTRA", ""))
    server, url = _serve(root)
    try:
        import httpx

        r = httpx.post(url + "/v1/actions/run", json={"workflow": "pipeline"}, timeout=60)
        run_id = r.json()["data"]["run_id"]
        wait_until(lambda: _started(root, step) or run_status(root, run_id) != "running", timeout=240,
                   interval=0.05, what=f"step {step} to start ({note})")
        agent = RECEIVER.get(step)
        if agent is not None:
            wait_until(lambda: _prompts(root, agent) or run_status(root, run_id) != "running", timeout=240,
                       interval=0.02, what=f"{agent} to receive its prompt")
        time.sleep(delay)
    finally:
        _stop(server, signal.SIGKILL)
    if run_status(root, run_id) != "succeeded":
        server, url = _serve(root)
        try:
            wait_until(lambda: run_status(root, run_id) in ("succeeded", "failed"), timeout=400, interval=0.5,
                       what=f"the automatic resume ({note})")
        finally:
            _stop(server)
    assert run_status(root, run_id) == "succeeded", note
    sent = {a: len(_prompts(root, a)) for a in ("planner", "implementer", "reviewer")}
    landed = git(root, "log", "--format=%s", "main").splitlines().count("feat: calc module")
    problems, left = event_problems(root), wait_no_leftovers(root, run_ids(root))
    report(STEP_TYPES[step], "serve", double_effects=max(0, landed - 1), orphans=len(left),
           resent_prompts=sum(max(0, c - 1) for c in sent.values()), event_problems=len(problems),
           adopted=adopted(root))
    assert sent == {"planner": 1, "implementer": 1, "reviewer": 1}, f"{note}: {sent}"
    assert landed == 1, note
    assert problems == [] and left == [], note
