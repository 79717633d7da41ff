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
