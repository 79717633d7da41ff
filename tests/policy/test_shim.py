"""The shell shims really block: a runtime running `sh -c CMD` through PATH gets exit 126."""

from __future__ import annotations

import json
import os

from tutti import proc
from tutti.policy.shim import command_argument, write_shims


def run_via_shims(shim_dir, cwd, *argv):
    env = dict(os.environ, PATH=f"{shim_dir}{os.pathsep}{os.environ['PATH']}")
    return proc.run(list(argv), cwd=cwd, env=env, timeout=60)


def test_shim_blocks_a_compound_command_and_runs_an_allowed_one(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "victim").write_text("keep me")
    d = write_shims(tmp_path / "state", "coder", ["git status", "echo *"])
    assert (d / "allow.rules").read_text() == "git status\necho *\n"
    assert os.access(d / "sh", os.X_OK)

    blocked = run_via_shims(d, work, "sh", "-c", "echo hi && rm -f victim")
    assert blocked.returncode == 126
    assert "tutti policy blocked command: echo hi && rm -f victim" in blocked.stderr
    assert "hint: add this allow rule: rm -f" in blocked.stderr
    assert (work / "victim").exists()

    allowed = run_via_shims(d, work, "bash", "-lc", "echo 'a; b'")
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout == "a; b\n"

    log = [json.loads(x) for x in (d / "decisions.jsonl").read_text().splitlines()]
    assert [e["decision"] for e in log] == ["block", "allow"]


def test_command_argument_finds_c_in_option_clusters():
    assert command_argument(["-c", "ls"]) == "ls"
    assert command_argument(["-lc", "ls"]) == "ls"
    assert command_argument(["-e", "-o", "pipefail", "-c", "ls"]) == "ls"
    assert command_argument(["script.sh", "-c"]) is None
    assert command_argument([]) is None


def test_script_file_invocation_is_checked_as_a_command_line(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "ci.sh").write_text("echo ran\n")
    (work / "evil.sh").write_text("echo evil\n")
    d = write_shims(tmp_path / "state", "coder", ["sh ci.sh", "bash ci.sh"])
    assert run_via_shims(d, work, "sh", "ci.sh").stdout == "ran\n"
    blocked = run_via_shims(d, work, "bash", "evil.sh")
    assert blocked.returncode == 126 and "blocked command: bash evil.sh" in blocked.stderr
    fed = proc.run(["sh"], cwd=work, input="echo from-stdin\n", timeout=60,
                   env=dict(os.environ, PATH=f"{d}{os.pathsep}{os.environ['PATH']}"))
    assert fed.stdout == "from-stdin\n"  # no command line to check: runs as is


def test_shim_launch_env_points_shell_at_the_shim(tmp_path):
    from tutti.runtimes.base import LaunchContext
    from tutti.runtimes.registry import get_adapter

    ctx = LaunchContext(agent="coder", workspace="ws", workdir=tmp_path, state_dir=tmp_path / "state",
                        allow_rules=["git status"])
    spec = get_adapter("aider").build_launch(ctx)
    assert spec.env["SHELL"] == str(tmp_path / "state" / "runtime-shims" / "coder" / "bash")
