"""Port of the original's `src/budget/mod.rs` tests (@ ae93ab1): the guard before `tt run`, with
an `plan = "api"` default profile and usage read from the agent's own Claude log."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

PROFILE = '[[profile]]\nname = "api"\nprovider = "anthropic"\ncommand = "claude"\nplan = "api"\n'

WS_TOML = """\
[workspace]
name = "ws"

[workspace.auth]
default_profile = "api"

[[agent]]
name = "backend"
runtime = "claude-code"

[budget]
mode = "{mode}"
warn_threshold_pct = 80
workspace_weekly_tokens = 200

[budget.agent_weekly_tokens]
backend = 100

[[workflow]]
name = "verify"

[[workflow.step]]
type = "command"
run = "touch ran"
"""


def spend(root, usage: dict) -> None:
    """Append one assistant turn (a new message id) to the agent's Claude log."""
    path = root / ".tutti" / "homes" / "backend" / ".claude" / "projects" / "p" / "s.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(path.read_text().splitlines()) if path.exists() else 0
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with path.open("a") as fh:
        fh.write(json.dumps({"type": "assistant", "timestamp": now, "requestId": f"r{n}",
                             "message": {"id": f"m{n}", "model": "claude-x", "usage": usage}}) + "\n")


@pytest.fixture
def budgeted(ws, global_config):
    global_config(PROFILE)

    def _make(mode: str, usage: dict):
        root = ws(WS_TOML.format(mode=mode))
        spend(root, usage)
        return root

    return _make


def test_token_total_counts_input_cache_and_output(budgeted, tt):
    """upstream: src/budget/mod.rs::tests::token_total_counts_input_cache_and_output — 10 input +
    5 cache creation + 3 cache read + 7 output = 25 tokens count against the caps."""
    root = budgeted("enforce", {"input_tokens": 10, "output_tokens": 7, "cache_creation_input_tokens": 5,
                                "cache_read_input_tokens": 3})
    res = tt("run", "verify", cwd=root)
    assert res.returncode == 0, res.stderr
    assert "budget" not in res.stdout + res.stderr  # 25/100: below the 80 % threshold
    spend(root, {"input_tokens": 40, "output_tokens": 5, "cache_creation_input_tokens": 5,
                 "cache_read_input_tokens": 5})  # 25 + 55 = 80/100
    res = tt("run", "verify", cwd=root)
    assert res.returncode == 0, res.stderr
    assert "budget at ~80% (80/100) tokens before run" in res.stdout + res.stderr


def test_warn_mode_over_cap_returns_warning_not_error(budgeted, tt):
    """upstream: src/budget/mod.rs::tests::warn_mode_over_cap_returns_warning_not_error"""
    root = budgeted("warn", {"input_tokens": 120, "output_tokens": 0, "cache_creation_input_tokens": 0,
                             "cache_read_input_tokens": 0})
    res = tt("run", "verify", cwd=root)
    assert res.returncode == 0, res.stderr
    assert "budget exceeded (120/100) tokens; continuing because budget.mode=warn" in res.stdout + res.stderr
    assert (root / "ran").exists()


def test_enforce_mode_over_cap_errors(budgeted, tt):
    """upstream: src/budget/mod.rs::tests::enforce_mode_over_cap_errors — an unscoped `tt run`
    checks every agent's cap, as the original's guard did (fixed here: ours checked agent caps
    only for agent-scoped actions)."""
    root = budgeted("enforce", {"input_tokens": 120, "output_tokens": 0, "cache_creation_input_tokens": 0,
                                "cache_read_input_tokens": 0})
    res = tt("run", "verify", cwd=root)
    assert res.returncode != 0
    assert "agent 'backend' budget exceeded (120/100) tokens; blocked run" in res.stderr
    assert not (root / "ran").exists()
