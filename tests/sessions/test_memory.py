"""Agent memory injection: CLAUDE.md managed section or prompt prefix."""

from __future__ import annotations

import os

import pytest

from tutti.errors import ConfigError
from tutti.sessions.memory import END, START, inject, strip_section, with_section


def test_claude_code_in_a_worktree_gets_a_managed_claude_md_section(tmp_path):
    (tmp_path / "mem.md").write_text("Always run the tests.\n")
    wt = tmp_path / "wt"
    wt.mkdir()
    (wt / "CLAUDE.md").write_text("# Project rules\n")
    res = inject(tmp_path, "a", "mem.md", "claude-code", wt, "go", in_worktree=True)
    text = (wt / "CLAUDE.md").read_text()
    assert res.injected_file == "CLAUDE.md" and res.prompt == "go"
    assert text.startswith(START) and "Always run the tests." in text and text.endswith("# Project rules\n")
    again = inject(tmp_path, "a", "mem.md", "claude-code", wt, "go", in_worktree=True)
    assert (wt / "CLAUDE.md").read_text().count(START) == 1 and again.injected_file


def test_other_runtimes_get_the_memory_before_the_prompt(tmp_path):
    (tmp_path / "mem.md").write_text("Be brief.\n")
    res = inject(tmp_path, "a", "mem.md", "codex", tmp_path, "fix the bug", in_worktree=True)
    assert res.prompt == "## Agent Memory\n\nBe brief.\n\n---\n\nfix the bug" and res.injected_file is None


def test_strip_section_restores_the_users_text():
    assert strip_section(with_section("mine\n", "memory")) == "\nmine\n"
    assert START not in strip_section(with_section("", "m")) and END not in strip_section(with_section("", "m"))


def test_memory_must_be_a_regular_file_inside_the_workspace(tmp_path):
    outside = tmp_path.parent / "outside-mem.md"
    outside.write_text("x")
    os.symlink(outside, tmp_path / "link.md")
    with pytest.raises(ConfigError, match="symlink"):
        inject(tmp_path, "a", "link.md", "codex", tmp_path, "p", in_worktree=False)
    with pytest.raises(ConfigError, match="not found"):
        inject(tmp_path, "a", "missing.md", "codex", tmp_path, "p", in_worktree=False)
