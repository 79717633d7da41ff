"""`tt send` to an agent whose context window is full: it refuses like any `waiting` agent, but
the hint says how to get out of a full context instead of "answer the dialog"."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import git

CAPTURED = Path(__file__).resolve().parents[1] / "fixtures" / "screens" / "captured" / "codex"


def test_send_to_a_context_full_agent_says_to_hand_off(git_repo, tmux_socket, tt):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "cw"\n[defaults]\nworktree = false\n'
                                         '[[agent]]\nname = "cx"\nruntime = "codex"\n')
    (git_repo / ".gitignore").write_text(".tutti/\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "cfg")
    screen = CAPTURED / "context_exceeded_first.txt"
    subprocess.run(["tmux", "-L", tmux_socket, "new-session", "-d", "-s", "tutti-cw-cx", "-x", "200", "-y", "50",
                    "sh", "-c", f"cat '{screen}'; sleep 120"], check=True)
    out = tt("send", "cx", "continue please", cwd=git_repo)
    assert out.returncode != 0
    assert "is waiting for input" in out.stderr
    assert "context window is full" in out.stderr and "tt handoff generate cx" in out.stderr
    assert "answer the dialog" not in out.stderr


def test_a_dialog_still_gets_the_answer_hint():
    from tutti.delivery.send import waiting_hint

    assert "answer the dialog" in waiting_hint("a", ["waiting:approval_dialog"])
    assert "context window is full" in waiting_hint("a", ["waiting:context_exhausted", "idle:composer"])
