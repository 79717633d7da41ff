"""`tt serve` stopping with runs in flight: SIGTERM marks them interrupted and exits within a
bounded time; SIGKILL at a random moment leaves them `running` with a dead pid. Either way the
next `tt serve` resumes them by itself, and every effect happens exactly once."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import time

import httpx
import pytest
from tests.helpers import wait_until

from .conftest import seed, trials
from .harness import adopted, db, effects, event_problems, report, run_ids, run_status, wait_no_leftovers

pytestmark = pytest.mark.slow

WORKFLOW = textwrap.dedent("""
    [workspace]
    name = "chaos"

    [[workflow]]
    name = "slow"
    [[workflow.step]]
    type = "command"
    run = "sleep SLEEP1; echo s1 >> effects.log"
    fail_mode = "closed"
    [[workflow.step]]
    type = "command"
    run = "while ! test -f go; do sleep 0.05; done; echo s2 >> effects.log"
    fail_mode = "closed"
    [[workflow.step]]
    type = "command"
    run = "sleep SLEEP3; echo s3 >> effects.log"
    fail_mode = "closed"
""")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(root) -> tuple[subprocess.Popen, str]:
    port = _port()
    proc = subprocess.Popen([sys.executable, "-m", "tutti", "serve", "--port", str(port)], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(url + "/v1/health", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(up, timeout=60, interval=0.1, what="tt serve to answer")
    return proc, url


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> float:
    started = time.monotonic()
    try:
        os.kill(proc.pid, sig)
    except ProcessLookupError:
        pass
    proc.communicate(timeout=60)
    return time.monotonic() - started


def _start_run(url: str) -> str:
    r = httpx.post(url + "/v1/actions/run", json={"workflow": "slow"}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["data"]["run_id"]


def _step_running(root, run_id: str, index: int) -> bool:
    with db(root) as conn:
        row = conn.execute("SELECT status FROM steps WHERE run_id = ? AND step_index = ?", (run_id, index)).fetchone()
    return row is not None and row["status"] == "running"


def test_sigterm_marks_in_flight_runs_interrupted_and_the_next_serve_resumes_them(git_repo):
    (git_repo / "tutti.toml").write_text(WORKFLOW.replace("SLEEP1", "0.1").replace("SLEEP3", "0.1"))
    server, url = _serve(git_repo)
    try:
        run_id = _start_run(url)
        wait_until(lambda: _step_running(git_repo, run_id, 2), timeout=60, what="step 2 to be in flight")
    finally:
        took = _stop(server)
    assert server.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM after its shutdown
    assert took < 15, f"tt serve took {took:.1f}s to stop"
    assert run_status(git_repo, run_id) == "interrupted"
    with db(git_repo) as conn:
        kinds = [r["kind"] for r in conn.execute("SELECT kind FROM events WHERE run_id = ? ORDER BY seq", (run_id,))]
    assert kinds[-1] == "workflow.interrupted"
    assert effects(git_repo / "effects.log") == {"s1": 1}

    (git_repo / "go").touch()  # step 2's command (still running under its supervisor) may finish now
    server, url = _serve(git_repo)
    try:
        wait_until(lambda: run_status(git_repo, run_id) == "succeeded", timeout=120, what="the automatic resume")
    finally:
        _stop(server)
    assert effects(git_repo / "effects.log") == {"s1": 1, "s2": 1, "s3": 1}
    assert event_problems(git_repo) == []
    assert wait_no_leftovers(git_repo, run_ids(git_repo)) == []


CASES = list(range(trials(1)))


@pytest.mark.parametrize("n", CASES)
def test_sigkilled_serve_at_a_random_moment_is_resumed_by_the_next_serve(git_repo, n):
    rng = random.Random(f"{seed()}-serve-{n}")
    body = WORKFLOW.replace("SLEEP1", f"{rng.uniform(0.05, 0.8):.2f}").replace("SLEEP3", f"{rng.uniform(0.05, 0.8):.2f}")
    (git_repo / "tutti.toml").write_text(body.replace("while ! test -f go; do sleep 0.05; done; ", "sleep 0.3; "))
    moment = rng.uniform(0.0, 2.0)
    note = f"seed={seed()} trial={n} kill_at={moment:.2f}s"
    server, url = _serve(git_repo)
    try:
        run_id = _start_run(url)
        time.sleep(moment)
    finally:
        _stop(server, signal.SIGKILL)
    if run_status(git_repo, run_id) != "succeeded":
        server, url = _serve(git_repo)
        try:
            wait_until(lambda: run_status(git_repo, run_id) == "succeeded", timeout=120, what=f"resume ({note})")
        finally:
            _stop(server)
    counts = effects(git_repo / "effects.log")
    problems, left = event_problems(git_repo), wait_no_leftovers(git_repo, run_ids(git_repo))
    report("command", "serve", double_effects=sum(max(0, c - 1) for c in counts.values()), orphans=len(left),
           event_problems=len(problems), adopted=adopted(git_repo))
    assert counts == {"s1": 1, "s2": 1, "s3": 1}, f"{note}: {counts}"
    assert problems == [], note
    assert left == [], note
