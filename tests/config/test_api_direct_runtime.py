"""An API-direct agent (a `provider`, no `runtime`) has no CLI runtime: `[defaults].runtime` and
`[roles]` do not give it one — in the validated model and in the cached view that read-only
commands use alike — so `tt status` does not show it as a CLI agent and `tt peek` points at
`tt send --direct` / `tt replay` instead of `tt up` (which refuses it)."""

from __future__ import annotations

import json

from tutti.config import view
from tutti.workspace import load_workspace_at

CONFIG = """[workspace]
name = "direct-demo"
[defaults]
runtime = "fake"
[roles]
fixing = "fake"
[[agent]]
name = "fixer"
provider = "anthropic"
role = "fixing"
worktree = false
[[agent]]
name = "helper"
provider = "anthropic"
worktree = false
[[agent]]
name = "cli"
role = "fixing"
worktree = false
"""


def test_provider_agents_resolve_to_no_runtime_in_model_and_view(git_repo, tmux_socket, tt):
    (git_repo / "tutti.toml").write_text(CONFIG)
    full = load_workspace_at(git_repo).config
    cached = view.load(json.loads(json.dumps(view.dump(full))))  # what the validated-config cache holds
    assert isinstance(cached, view.ConfigView)
    for config in (full, cached):
        runtimes = {a.name: config.resolved_runtime(a) for a in config.agents}
        assert runtimes == {"fixer": None, "helper": None, "cli": "fake"}

    rows = {r["agent"]: r for r in json.loads(tt("status", "--json", cwd=git_repo).stdout)}
    assert rows["fixer"]["runtime"] is None and rows["cli"]["runtime"] == "fake"

    peek = tt("peek", "fixer", cwd=git_repo)
    assert peek.returncode != 0 and "Traceback" not in peek.stderr
    assert "tt send fixer --direct" in peek.stderr and "tt replay" in peek.stderr
    assert "tt up fixer" not in peek.stderr
    up = tt("up", "fixer", cwd=git_repo)
    assert up.returncode != 0 and "--direct" in up.stderr
