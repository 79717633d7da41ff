"""SIGKILL `tt run` (alone or with its process group) at seeded random moments of a 6-step
workflow with parallel branches and a nested workflow, then `tt run --resume` until it succeeds
(the resume itself is killed too in some trials). Every command's effect is NOT idempotent (an
append to effects.log), so it must show up exactly once."""

from __future__ import annotations

import random
import textwrap
import time

import pytest

from .conftest import seed, trials
from .harness import (
    KILL_MODES,
    adopted,
    effects,
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
EXPECTED = ["s1", "s2", "s3", "c1", "c2", "s5", "s6"]


def workflow(rng: random.Random) -> str:
    def cmd(name: str) -> str:
        return f'run = "sleep {rng.uniform(0.05, 0.6):.2f}; echo {name} >> effects.log"'

    return textwrap.dedent(f"""
        [workspace]
        name = "chaos"

        [[workflow]]
        name = "child"
        [[workflow.step]]
        type = "command"
        {cmd("c1")}
        fail_mode = "closed"
        [[workflow.step]]
        type = "command"
        {cmd("c2")}
        fail_mode = "closed"

        [[workflow]]
        name = "six"
        [[workflow.step]]
        type = "command"
        {cmd("s1")}
        fail_mode = "closed"
        [[workflow.step]]
        type = "command"
        {cmd("s2")}
        fail_mode = "closed"
        depends_on = [1]
        [[workflow.step]]
        type = "command"
        {cmd("s3")}
        fail_mode = "closed"
        depends_on = [1]
        [[workflow.step]]
        type = "workflow"
        workflow = "child"
        depends_on = [2, 3]
        [[workflow.step]]
        type = "command"
        {cmd("s5")}
        fail_mode = "closed"
        [[workflow.step]]
        type = "command"
        {cmd("s6")}
        fail_mode = "closed"
    """)


CASES = [(mode, n) for mode in KILL_MODES for n in range(trials(1))]


@pytest.mark.parametrize(("mode", "n"), CASES, ids=[f"{m}-{n}" for m, n in CASES])
def test_killed_runner_resumes_with_every_effect_exactly_once(git_repo, mode, n):
    rng = random.Random(f"{seed()}-{mode}-{n}")
    (git_repo / "tutti.toml").write_text(workflow(rng))
    moment = rng.uniform(0.3, 4.0)
    proc = tt(git_repo, "run", "six", "--json")
    time.sleep(moment)
    kill(proc, mode)
    note = f"seed={seed()} mode={mode} trial={n} kill_at={moment:.2f}s"
    ids = run_ids(git_repo)
    parent = next((i for i in ids if "six" in _workflow(git_repo, i)), None)
    if parent is None:  # killed before the run was recorded: nothing may have happened
        report("command+workflow", mode)
        assert effects(git_repo / "effects.log") == {}, note
        return
    for round_ in range(3):
        if run_status(git_repo, parent) == "succeeded":
            break
        if round_ == 0 and rng.random() < 0.5:  # a second crash, this time of the resume
            again = tt(git_repo, "run", "--resume", parent)
            time.sleep(rng.uniform(0.2, 2.0))
            kill(again, mode)
            continue
        res = resume_until_done(git_repo, parent)
        assert res.returncode == 0, f"{note}: {res.stdout}{res.stderr}"
    assert run_status(git_repo, parent) == "succeeded", note
    counts = effects(git_repo / "effects.log")
    problems, left = event_problems(git_repo), wait_no_leftovers(git_repo, run_ids(git_repo))
    report("command+workflow", mode, double_effects=sum(max(0, c - 1) for c in counts.values()),
           orphans=len(left), event_problems=len(problems), adopted=adopted(git_repo))
    assert counts == {name: 1 for name in EXPECTED}, f"{note}: {counts}"
    assert problems == [], note
    assert left == [], note


def _workflow(root, run_id: str) -> str:
    from .harness import db

    with db(root) as conn:
        return conn.execute("SELECT workflow FROM runs WHERE run_id = ?", (run_id,)).fetchone()["workflow"]
