"""Port of the original's `src/cli/doctor.rs` tests (@ 799df42) through `tt doctor --json` on
real workspaces (the original called `evaluate_checks` with injected PATH/env probes; ours gets a
PATH with the binaries it should find)."""

from __future__ import annotations

import json
import os
import stat

import pytest

BASE = '[workspace]\nname = "ws"\n{auth}\n[defaults]\nruntime = "{runtime}"\n{launch}\n[[agent]]\nname = "backend"\n'
GOOD_LAUNCH = '[launch]\nmode = "safe"\n'


def profile(name: str, command: str, provider: str = "anthropic") -> str:
    return f'[[profile]]\nname = "{name}"\nprovider = "{provider}"\ncommand = "{command}"\n'


@pytest.fixture
def bindir(tmp_path):
    """A directory of stub executables, put first on PATH."""
    d = tmp_path / "bin"
    d.mkdir()

    def _add(*names: str) -> dict[str, str]:
        for n in names:
            p = d / n
            p.write_text("#!/bin/sh\nexit 0\n")
            p.chmod(p.stat().st_mode | stat.S_IEXEC)
        return {"PATH": f"{d}{os.pathsep}{os.environ['PATH']}"}

    return _add


def doctor(tt_json, root, *args, env=None):
    rc, data, err = tt_json("doctor", *args, cwd=root, env=env)
    assert data is not None, err
    return rc, {c["check"]: c for c in data["checks"]}, data, err


def ws_toml(*, auth: str = "", runtime: str = "claude-code", launch: str = GOOD_LAUNCH, extra: str = "") -> str:
    auth_table = f'[workspace.auth]\ndefault_profile = "{auth}"\n' if auth else ""
    return BASE.format(auth=auth_table, runtime=runtime, launch=launch) + extra


def test_warns_when_default_profile_is_missing(ws, tt_json):
    """upstream: src/cli/doctor.rs::tests::warns_when_default_profile_is_missing"""
    _, checks, _, _ = doctor(tt_json, ws(ws_toml()))
    assert checks["auth profile"]["status"] == "warn"


def test_fails_when_workspace_profile_is_unknown(ws, tt_json):
    """upstream: src/cli/doctor.rs::tests::fails_when_workspace_profile_is_unknown"""
    rc, checks, _, _ = doctor(tt_json, ws(ws_toml(auth="missing")))
    assert rc != 0
    assert checks["auth profile"]["status"] == "fail" and "'missing'" in checks["auth profile"]["detail"]


def test_uses_profile_command_override_for_runtime_availability(ws, tt_json, global_config, bindir):
    """upstream: src/cli/doctor.rs::tests::uses_profile_command_override_for_runtime_availability,
    src/runtime/mod.rs::tests::compatible_override_matches_runtime,
    src/cli/up.rs::tests::resolve_profile_command_for_runtime_applies_matching_profile_command"""
    global_config(profile("work", "claude-work"))
    _, checks, _, _ = doctor(tt_json, ws(ws_toml(auth="work")), env=bindir("claude-work"))
    check = checks["runtime/backend"]
    assert check["status"] == "pass" and "claude-work" in check["detail"]


def test_ignores_mismatched_profile_command_override_for_runtime(ws, tt_json, global_config, bindir):
    """upstream: src/cli/doctor.rs::tests::ignores_mismatched_profile_command_override_for_runtime,
    src/runtime/mod.rs::tests::compatible_override_rejects_mismatch,
    src/cli/up.rs::tests::resolve_profile_command_for_runtime_ignores_mismatched_profile_command — a Claude profile's command
    never replaces a Codex agent's binary."""
    global_config(profile("work", "claude-work"))
    _, checks, _, _ = doctor(tt_json, ws(ws_toml(auth="work", runtime="codex")), env=bindir("claude-work", "codex"))
    check = checks["runtime/backend"]
    assert check["status"] == "pass" and "codex" in check["detail"] and "claude-work" not in check["detail"]


def test_tool_pack_checks_fail_for_missing_command_and_env(ws, tt_json):
    """upstream: src/cli/doctor.rs::tests::tool_pack_checks_fail_for_missing_command_and_env"""
    root = ws(ws_toml(extra='[[tool_pack]]\nname = "analytics"\nrequired_commands = ["bq-not-installed"]\n'
                            'required_env = ["GCP_PROJECT_TUTTI_TEST"]\n'))
    _, checks, _, _ = doctor(tt_json, root)
    assert checks["tool-pack/analytics/cmd"]["status"] == "fail"
    assert "bq-not-installed" in checks["tool-pack/analytics/cmd"]["detail"]
    assert checks["tool-pack/analytics/env"]["status"] == "fail"
    assert "GCP_PROJECT_TUTTI_TEST" in checks["tool-pack/analytics/env"]["detail"]


def test_build_report_counts_status_totals(ws, tt_json):
    """upstream: src/cli/doctor.rs::tests::build_report_counts_status_totals"""
    _, checks, data, _ = doctor(tt_json, ws(ws_toml(auth="missing")))
    statuses = [c["status"] for c in checks.values()]
    assert data["summary"] == {s: statuses.count(s) for s in ("pass", "warn", "fail")}


def test_fails_when_launch_requires_policy_but_permissions_missing(ws, tt_json):
    """upstream: src/cli/doctor.rs::tests::fails_when_launch_requires_policy_but_permissions_missing,
    src/cli/doctor.rs::tests::suggestion_for_launch_policy_failure_is_actionable"""
    rc, checks, _, _ = doctor(tt_json, ws(ws_toml(launch="")))
    check = checks["launch policy"]
    assert rc != 0 and check["status"] == "fail" and "[permissions]" in check["detail"]
    assert "[permissions]" in check["fix"]


def test_warns_when_bypass_launch_mode_selected(ws, tt_json, bindir):
    """upstream: src/cli/doctor.rs::tests::warns_when_bypass_launch_mode_selected"""
    root = ws(ws_toml(launch='[launch]\nmode = "unattended"\npolicy = "bypass"\n'))
    _, checks, _, _ = doctor(tt_json, root, env=bindir("claude"))
    assert checks["launch policy"]["status"] == "warn" and "bypass" in checks["launch policy"]["detail"]


def test_doctor_exit_status_strict_and_not_strict(ws, tt):
    """upstream: src/cli/doctor.rs::tests::doctor_exit_status_fails_on_warnings_in_strict_mode,
    src/cli/doctor.rs::tests::doctor_exit_status_allows_warnings_when_not_strict — only warnings
    (no profile, no tool packs, …): exit 0, but `--strict` fails with the original's message."""
    root = ws(ws_toml(runtime="fake"))
    assert tt("doctor", cwd=root).returncode == 0
    res = tt("doctor", "--strict", "--json", cwd=root)
    warn = json.loads(res.stdout)["summary"]["warn"]
    assert res.returncode != 0 and warn >= 2
    assert f"doctor strict mode failed with {warn} warning checks" in res.stderr


def test_serve_readiness_checks_pass_when_state_is_writable(ws, tt_json):
    """upstream: src/cli/doctor.rs::tests::serve_readiness_checks_pass_when_state_is_writable —
    ours names the checks `state_dir` / `store` (the events log is the SQLite store) and
    `serve/port`; the original's informational `serve/scheduler` pass has no equivalent."""
    root = ws(ws_toml(runtime="fake", extra='[[workflow]]\nname = "observe"\nschedule = "*/30 * * * *"\n'
                                           '[[workflow.step]]\ntype = "command"\nrun = "echo ok"\n'))
    _, checks, _, _ = doctor(tt_json, root)
    assert checks["state_dir"]["status"] == "pass"
    assert checks["store"]["status"] == "pass"
    assert "serve/port" in checks


def test_serve_readiness_checks_fail_when_state_dir_cannot_be_created(ws, tt_json):
    """upstream: src/cli/doctor.rs::tests::serve_readiness_checks_fail_when_state_dir_cannot_be_created"""
    root = ws(ws_toml(runtime="fake"))
    (root / ".tutti").write_text("not-a-dir")
    rc, checks, _, _ = doctor(tt_json, root)
    assert rc != 0
    assert checks["state_dir"]["status"] == "fail" and "not writable" in checks["state_dir"]["detail"]
