"""What a new user sees when a run fails for a reason they must fix: the real `tt` CLI in a
subprocess, over real git repos and the real store. Each failure names its cause and its fix."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap

import pytest


def _write(root, body: str, name: str = "demo") -> None:
    (root / "tutti.toml").write_text(f'[workspace]\nname = "{name}"\n\n' + textwrap.dedent(body), encoding="utf-8")


def test_blocked_command_names_rule_file_and_fix_command(git_repo, tutti_home, tt):
    pytest.importorskip("tutti.policy.permissions")
    config = tutti_home / "config.toml"
    config.write_text('[permissions]\nallow = ["echo"]\n')
    _write(git_repo, """
        [[workflow]]
        name = "inner"
        [[workflow.step]]
        type = "command"
        run = "touch blocked-file"
        fail_mode = "closed"

        [[workflow]]
        name = "outer"
        [[workflow.step]]
        type = "workflow"
        workflow = "inner"
        fail_mode = "closed"
    """)
    for workflow in ("inner", "outer"):  # directly, and from inside a nested workflow step
        r = tt("run", workflow, cwd=git_repo)
        assert r.returncode != 0
        lines = r.stderr.splitlines()
        error = next(ln for ln in lines if ln.startswith("error[workflow]"))
        assert "touch blocked-file" in error
        hint = "\n".join(lines[lines.index(error) + 1:])
        assert str(config) in hint, r.stderr
        assert "tt permissions suggest inner --apply" in hint, r.stderr
        assert "Traceback" not in r.stderr
    assert not (git_repo / "blocked-file").exists()
    # the fix it names works
    assert tt("permissions", "suggest", "inner", "--apply", cwd=git_repo).returncode == 0
    r = tt("run", "outer", cwd=git_repo)
    assert r.returncode == 0, r.stderr
    assert (git_repo / "blocked-file").exists()


def test_blocked_command_in_an_open_step_shows_its_fix_too(git_repo, tutti_home, tt):
    """fail_mode = "open" (the default): the run succeeds with a warning, whose table cell is cut."""
    pytest.importorskip("tutti.policy.permissions")
    config = tutti_home / "config.toml"
    config.write_text('[permissions]\nallow = ["echo"]\n')
    _write(git_repo, '[[workflow]]\nname = "w"\n[[workflow.step]]\ntype = "command"\nrun = "touch blocked-file"\n')
    r = tt("run", "w", cwd=git_repo)
    assert r.returncode == 0, r.stderr
    assert "warning: command blocked by permissions policy: 'touch blocked-file'" in r.stderr, r.stderr
    hint = next(ln for ln in r.stderr.splitlines() if ln.strip().startswith("hint:"))
    assert str(config) in hint and "tt permissions suggest w --apply" in hint, r.stderr


def _not_in_git(path) -> None:
    assert not any((p / ".git").exists() for p in (path, *path.parents)), "the test needs a non-git directory"


def test_failed_steps_name_their_root_cause_line(tmp_path, tt):
    ws = tmp_path / "plain"
    ws.mkdir()
    _not_in_git(ws)
    (ws / "script.sh").write_text("#!/bin/sh\nexit 0\n")  # not executable
    runs = ["python3 -m nosuchmod", "git diff --check", "nosuchcmd --x", "cat nosuchfile", "./script.sh",
            "python3 -c 'import nosuchmod2'"]
    _write(ws, "[[workflow]]\nname = \"v\"\n" + "".join(
        f'[[workflow.step]]\ntype = "command"\nrun = "{run}"\n' for run in (r.replace('"', '\\"') for r in runs)), "plain")
    r = tt("run", "v", "--json", cwd=ws)

    messages = [s["message"] for s in json.loads(r.stdout)["steps"]]
    # which python3 the step gets is the project environment's choice (tt's own venv is left out
    # of a step's PATH), so the message must name *an* interpreter path, not necessarily ours
    assert re.search(r"/\S*python3[\d.]*: No module named nosuchmod", messages[0]), messages[0]
    assert "Not a git repository" in messages[1] and "git init" in messages[1], messages[1]
    assert "nosuchcmd: not found" in messages[2], messages[2]
    assert "cat: nosuchfile: No such file or directory" in messages[3], messages[3]
    assert "./script.sh: Permission denied" in messages[4] and "chmod +x" in messages[4], messages[4]
    assert "No module named 'nosuchmod2'" in messages[5] and re.search(r"interpreter: /\S*python3", messages[5]), messages[5]


def test_init_outside_git_says_git_init_and_its_verify_passes(tmp_path, tt):
    ws = tmp_path / "fresh"
    ws.mkdir()
    _not_in_git(ws)
    r = tt("init", cwd=ws)
    assert r.returncode == 0, r.stderr
    assert "not a git repository" in r.stderr
    steps = r.stdout.split("Next steps:")[1].strip().splitlines()
    assert steps[0].strip().startswith("git init"), steps
    verify = tt("run", "verify", "--strict", cwd=ws)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # and once it is a repository, the same directory's fresh init gets the git check
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    r = tt("init", "--force", "--json", cwd=ws)
    assert r.returncode == 0, r.stderr
    assert "git diff --check" in (ws / "tutti.toml").read_text()
    assert not json.loads(r.stdout)["next_steps"][0].startswith("git init")


def test_run_with_an_unknown_agent_lists_the_agents_it_could_name(git_repo, tt):
    _write(git_repo, """
        [[agent]]
        name = "alice"
        runtime = "claude-code"
        [[agent]]
        name = "bob"
        runtime = "claude-code"
        [[workflow]]
        name = "w"
        [[workflow.step]]
        type = "command"
        agent = "bob"
        run = "echo hi"
    """)
    for extra in ((), ("--dry-run",), ("--json",)):
        r = tt("run", "w", "--agent", "zz", *extra, cwd=git_repo)
        assert r.returncode == 1
        lines = r.stderr.strip().splitlines()
        assert lines[-2].startswith("error[not_found]: unknown agent 'zz'"), r.stderr
        hint = lines[-1]
        assert "agents of this workflow's steps: bob" in hint and "alice, bob" in hint, hint
        assert str(git_repo / "tutti.toml") in hint


def test_run_with_an_agent_in_a_workspace_without_agents_says_to_omit_it(git_repo, tt):
    _write(git_repo, '[[workflow]]\nname = "w"\n[[workflow.step]]\ntype = "command"\nrun = "echo hi"\n')
    r = tt("run", "w", "--agent", "zz", cwd=git_repo)
    assert r.returncode == 1
    assert "declares no [[agent]]" in r.stderr and "without --agent" in r.stderr, r.stderr


@pytest.mark.parametrize("output, cause", [
    ("fatal: not a git repository (or any of the parent directories): .git",
     "fatal: not a git repository (or any of the parent directories): .git"),
    ("bash: line 1: nosuchcmd: command not found", "bash: line 1: nosuchcmd: command not found"),
    ("/usr/bin/python3: can't open file '/w/run.py': [Errno 2] No such file or directory",
     "/usr/bin/python3: can't open file '/w/run.py': [Errno 2] No such file or directory"),
    ("running\nmake: ./build.sh: Permission denied\nmake: *** [all] Error 126", "make: ./build.sh: Permission denied"),
    # a test runner's own error line outranks the OS error text it quotes
    ("open: No such file or directory\nE   FileNotFoundError: [Errno 2] No such file or directory: 'x'",
     "E   FileNotFoundError: [Errno 2] No such file or directory: 'x'"),
])
def test_root_cause_classes(output, cause):
    from tutti.workflows.project_env import root_cause

    assert root_cause(output) == cause
