"""What a new user hits with bad input: one-line `error[category]` + hint, the right exit code,
never a Python traceback, and `--json` output that is valid JSON on stdout."""

from __future__ import annotations

from pathlib import Path

AGENT = '[[agent]]\nname = "a"\nruntime = "fake"\n'


def _no_traceback(result) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_tutti_toml_saved_with_a_utf8_bom_loads(git_repo: Path, tt) -> None:
    (git_repo / "tutti.toml").write_bytes(b'\xef\xbb\xbf[workspace]\nname = "bom"\n' + AGENT.encode())
    result = tt("status", "--json", cwd=git_repo)
    _no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert '"a"' in result.stdout


def test_empty_tutti_toml_says_how_to_start_the_workspace_table(git_repo: Path, tt) -> None:
    (git_repo / "tutti.toml").write_text("")
    result = tt("status", cwd=git_repo)
    _no_traceback(result)
    assert result.returncode == 2
    assert "error[config]: tutti.toml" in result.stderr and "missing [workspace] table" in result.stderr
    assert "[workspace]" in result.stderr.split("hint:")[1]
