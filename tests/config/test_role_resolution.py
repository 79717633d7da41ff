"""Runtime resolution order: explicit runtime > [roles][role] > [defaults].runtime."""

from __future__ import annotations

DOC = """\
[workspace]
name = "demo"

[defaults]
runtime = "aider"

[roles]
reviewer = "codex"

[[agent]]
name = "explicit"
role = "reviewer"
runtime = "claude-code"

[[agent]]
name = "by-role"
role = "reviewer"

[[agent]]
name = "by-default"

[[agent]]
name = "api"
provider = "anthropic"
model = "claude-sonnet"
"""


def test_explicit_runtime_beats_role_beats_defaults(load_text):
    cfg = load_text(DOC).config
    assert cfg.resolved_runtime(cfg.agent("explicit")) == "claude-code"
    assert cfg.resolved_runtime(cfg.agent("by-role")) == "codex"
    assert cfg.resolved_runtime(cfg.agent("by-default")) == "aider"


def test_explicit_runtime_needs_no_roles_table(load_text):
    cfg = load_text('[workspace]\nname = "d"\n[[agent]]\nname = "x"\nrole = "ghost"\nruntime = "codex"\n').config
    assert cfg.resolved_runtime(cfg.agent("x")) == "codex"


def test_no_runtime_anywhere_resolves_to_none(load_text):
    cfg = load_text('[workspace]\nname = "d"\n[[agent]]\nname = "x"\n').config
    assert cfg.resolved_runtime(cfg.agent("x")) is None
