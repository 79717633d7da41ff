"""Issue #11: `tt schedule run` with nothing scheduled says so instead of looping silently, and
rejects a zero interval."""

from __future__ import annotations


def test_schedule_run_with_nothing_scheduled_says_so(tt, git_repo):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "s"\n[[workflow]]\nname = "w"\n'
                                         '[[workflow.step]]\ntype = "command"\nrun = "true"\n')
    res = tt("schedule", "run", cwd=git_repo, timeout=30)  # would hang (timeout) before the fix
    assert res.returncode == 2
    assert res.stderr.startswith("error[usage]: nothing to run: no [[workflow]] in")
    assert "hint:" in res.stderr


def test_schedule_run_rejects_a_zero_interval(tt, git_repo):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "s"\n[[workflow]]\nname = "w"\nschedule = "* * * * *"\n'
                                         '[[workflow.step]]\ntype = "command"\nrun = "true"\n')
    res = tt("schedule", "run", "--interval", "0", cwd=git_repo, timeout=30)
    assert res.returncode == 2
    assert res.stderr.startswith("error[usage]: Invalid value for '--interval': 0.0 is not in the range x>=0.5.")
