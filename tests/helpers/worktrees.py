"""A workspace whose agent has a real git worktree, and commits made in it with git directly
(as the agent would): the setup of the land and diff tests."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git

TOML = '[workspace]\nname = "demo"\n[defaults]\nruntime = "fake"\n[[agent]]\nname = "{agent}"\n'


def agent_worktree_workspace(repo: Path, agent: str = "a"):
    """`repo` (a git repo) as a workspace with one agent and its worktree on branch `tutti/{agent}`;
    tutti.toml stays untracked-and-excluded so the project tree is clean."""
    from tutti.sessions import worktree
    from tutti.workspace import load_workspace_at

    (repo / "tutti.toml").write_text(TOML.format(agent=agent))
    exclude = repo / ".git/info/exclude"
    exclude.write_text(exclude.read_text() + "tutti.toml\n")
    ws = load_workspace_at(repo)
    worktree.prepare(ws.root, ws.state_dir, agent, f"tutti/{agent}")
    return ws


def agent_commit(ws, name: str, content: str, message: str, agent: str = "a") -> None:
    """Write `name` in the agent's worktree and commit it there."""
    wt = ws.worktree_path(agent)
    (wt / name).write_text(content)
    git(wt, "add", "--", name)
    git(wt, "commit", "-qm", message)
