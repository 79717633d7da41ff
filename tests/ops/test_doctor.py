"""`tt doctor`: real binaries on PATH, real tool packs, real state dir and store."""

from __future__ import annotations

import json
import os
import textwrap

import pytest

from tutti.ops.doctor import run_doctor


def _by_name(report):
    return {c.check: c for c in report.checks}


@pytest.fixture
def bin_dir(tmp_path):
    """A PATH directory holding a fake `codex` binary (an executable script)."""
    d = tmp_path / "bin"
    d.mkdir()
    exe = d / "codex"
    exe.write_text("#!/bin/sh\necho codex 0.0\n")
    exe.chmod(0o755)
    return d


def test_doctor_reports_runtimes_tool_packs_and_state(git_repo, bin_dir, monkeypatch):
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("DOCTOR_TEST_TOKEN", raising=False)
    (git_repo / "tutti.toml").write_text(textwrap.dedent("""
        [workspace]
        name = "doc"
        [launch]
        mode = "safe"
        [[agent]]
        name = "builder"
        runtime = "codex"
        [[agent]]
        name = "writer"
        runtime = "aider"
        [[tool_pack]]
        name = "base"
        required_commands = ["git", "definitely-not-a-command-xyz"]
        required_env = ["DOCTOR_TEST_TOKEN"]
    """))
    checks = _by_name(run_doctor(git_repo))
    assert checks["runtime/builder"].status == "pass" and str(bin_dir / "codex") in checks["runtime/builder"].detail
    assert checks["runtime/writer"].status == "fail"
    assert "runtime 'aider' is not installed or not on PATH" in checks["runtime/writer"].detail
    assert checks["tool-pack/base/cmd"].status == "fail"
    assert "definitely-not-a-command-xyz" in checks["tool-pack/base/cmd"].detail
    assert checks["tool-pack/base/env"].status == "fail"
    assert checks["state_dir"].status == "pass" and checks["store"].status == "pass"
    assert checks["git/repo"].status == "pass"
    assert checks["auth profile"].status == "warn"


def test_doctor_cli_exit_codes_and_json(tt, git_repo, monkeypatch):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "doc"\n[launch]\nmode = "safe"\n')
    res = tt("doctor", "--json", cwd=git_repo)
    data = json.loads(res.stdout)
    assert set(data["summary"]) == {"pass", "warn", "fail"}
    assert {"check", "status", "detail", "fix"} <= set(data["checks"][0])
    expected_fail = data["summary"]["fail"]
    assert res.returncode == (1 if expected_fail else 0)
    # No tool packs and no profile are warnings: --strict turns them into a failure.
    assert data["summary"]["warn"] >= 2
    strict = tt("doctor", "--strict", cwd=git_repo)
    assert strict.returncode == 1
    assert "doctor strict mode failed with" in strict.stderr or "doctor found" in strict.stderr


def test_doctor_without_a_workspace_still_checks_the_machine(tt, tmp_path):
    res = tt("doctor", "--json", cwd=tmp_path)
    data = json.loads(res.stdout)
    names = [c["check"] for c in data["checks"]]
    assert names[:2] == ["tmux", "git"]
    config = next(c for c in data["checks"] if c["check"] == "config")
    assert config["status"] == "fail" and "tutti.toml not found" in config["detail"]
    assert res.returncode == 1 and "doctor found" in res.stderr


def test_doctor_flags_a_missing_default_profile_and_policy_without_rules(git_repo, tutti_home):
    (tutti_home / "config.toml").write_text('[[profile]]\nname = "other"\nprovider = "anthropic"\n')
    (git_repo / "tutti.toml").write_text(textwrap.dedent("""
        [workspace]
        name = "doc"
        [workspace.auth]
        default_profile = "missing"
        [[agent]]
        name = "a"
        runtime = "claude-code"
    """))
    checks = _by_name(run_doctor(git_repo))
    assert checks["auth profile"].status == "fail" and "'missing'" in checks["auth profile"].detail
    assert checks["launch policy"].status == "fail"
    assert "[permissions] allow rules" in checks["launch policy"].detail


def test_doctor_shows_config_warnings(git_repo):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "doc"\n[observe]\ndashbord = true\n')
    warnings = [c for c in run_doctor(git_repo).checks if c.check == "config/warning"]
    assert warnings and warnings[0].status == "warn" and "dashbord" in warnings[0].detail


def test_doctor_reports_a_running_agent_whose_screen_shows_an_auth_failure(git_repo, tmux_socket):
    import subprocess

    from tutti.workspace import load_workspace_at

    (git_repo / "tutti.toml").write_text(textwrap.dedent("""
        [workspace]
        name = "doc"
        [[runtime]]
        name = "mycli"
        command = "sh"
        auth_failed = ["TOKEN-REVOKED-XYZ"]
        [[agent]]
        name = "a"
        runtime = "mycli"
        worktree = false
        [[agent]]
        name = "idle"
        runtime = "mycli"
        worktree = false
    """))
    session = load_workspace_at(git_repo).session_name("a")
    subprocess.run(["tmux", "-L", tmux_socket, "new-session", "-d", "-s", session, "-x", "120", "-y", "30",
                    "sh -c 'echo TOKEN-REVOKED-XYZ; sleep 60'"], check=True)
    from tests.workflows.helpers import wait_for

    wait_for(lambda: "TOKEN-REVOKED-XYZ" in subprocess.run(
        ["tmux", "-L", tmux_socket, "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout)
    checks = _by_name(run_doctor(git_repo))
    assert checks["auth/a"].status == "fail"
    assert "authentication failure" in checks["auth/a"].detail
    assert "auth/idle" not in checks  # not running: nothing to probe
