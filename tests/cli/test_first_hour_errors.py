"""Issue #11: click's own usage errors use the one `error[usage]: … / hint:` format (exit 2), and
`tt serve --bind 0.0.0.0` says how to do it safely."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("args, message, usage", [
    (("run", "--nope"), "error[usage]: No such option '--nope'.", "hint: usage: tt run [OPTIONS] [WORKFLOW]"),
    (("logs", "a", "-l", "-1"), "error[usage]: Invalid value for '-l' / '--lines': -1 is not in the range x>=0.",
     "hint: usage: tt logs [OPTIONS] AGENT"),
    (("send",), "error[usage]: Missing argument 'AGENT'.", "hint: usage: tt send"),
    (("stauts",), "error[usage]: No such command 'stauts'. Did you mean 'status'?", "hint: usage: tt [OPTIONS] COMMAND"),
])
def test_click_usage_errors_use_the_one_format(tt, tmp_path, args, message, usage):
    res = tt(*args, cwd=tmp_path)
    assert res.returncode == 2
    lines = res.stderr.splitlines()
    assert lines[0] == message
    assert lines[1].strip().startswith(usage) and "--help`" in lines[1]
    assert len(lines) == 2 and "Usage:" not in res.stderr and "Error:" not in res.stderr


def test_bind_all_interfaces_without_auth_has_a_hint(tt, git_repo):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "b"\n')
    res = tt("serve", "--bind", "0.0.0.0", cwd=git_repo, timeout=60)
    assert res.returncode == 2
    lines = res.stderr.splitlines()
    assert lines[0].startswith("error[usage]: refusing to bind to non-localhost address without authentication")
    assert lines[1].strip().startswith("hint: tt serve --remote --bind 0.0.0.0")
