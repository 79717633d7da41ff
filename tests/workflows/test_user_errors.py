"""What a new user sees when a run fails for a reason they must fix: the real `tt` CLI in a
subprocess, over real git repos and the real store. Each failure names its cause and its fix."""

from __future__ import annotations

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
