"""Port of the original's `src/cli/up.rs` tests (@ 2e54777): `tt up` on real tmux sessions running
the shipped fake agent (launch order, state, worktree branch, session env, CLI launch settings,
profile limits, policy requirement), launch argv per runtime/mode from the adapters, agent memory."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tutti.runtimes.base import LaunchContext
from tutti.runtimes.registry import get_adapter

DIAMOND = """\
[workspace]
name = "ws"

[workspace.env]
git_name = "Workspace User"
git_email = "test@example.com"
CUSTOM_VAR = "value"

[defaults]
runtime = "fake"
worktree = false

[launch]
mode = "safe"
policy = "bypass"

[[agent]]
name = "d"
depends_on = ["b", "c"]

[[agent]]
name = "b"
depends_on = ["a"]
env = { GIT_AUTHOR_NAME = "Agent User" }

[[agent]]
name = "c"
depends_on = ["a"]

[[agent]]
name = "a"
worktree = true
"""


@pytest.mark.slow
def test_up_launches_in_dependency_order_with_state_branch_and_env(ws, tt, tmux_socket, global_config):
    """upstream: src/cli/up.rs::tests::topo_sort_linear_chain, topo_sort_diamond,
    topo_sort_no_deps_passthrough, build_workspace_env_from_config, agent_env_overrides_workspace,
    resolve_launch_settings_prefers_cli_over_workspace_config; src/state/mod.rs::tests::round_trip_agent_state;
    src/config/mod.rs::tests::resolved_branch_default (topo_sort_cycle_detected: test_config.py)."""
    global_config('[permissions]\nallow = ["git status"]\n')
    root = ws(DIAMOND)
    try:
        res = tt("up", "--mode", "unattended", "--policy", "constrained", "--json", cwd=root)
        assert res.returncode == 0, res.stderr
        launched = json.loads(res.stdout)[0]["launched"]
        order = [x["agent"] for x in launched]
        assert order.index("a") < order.index("b") < order.index("d")
        assert order.index("a") < order.index("c") < order.index("d")
        a = next(x for x in launched if x["agent"] == "a")
        assert a["branch"] == "tutti/a" and Path(a["workdir"]) == root / ".tutti" / "worktrees" / "a"
        state = json.loads((root / ".tutti" / "state" / "a.json").read_text())
        assert (state["name"], state["runtime"], state["session_name"], state["branch"]) == (
            "a", "fake", "tutti-ws-a", "tutti/a")
        env = subprocess.run(["tmux", "-L", tmux_socket, "show-environment", "-t", "tutti-ws-b"],
                             capture_output=True, text=True).stdout.splitlines()
        assert {"GIT_AUTHOR_NAME=Agent User", "GIT_COMMITTER_NAME=Workspace User", "GIT_AUTHOR_EMAIL=test@example.com",
                "GIT_COMMITTER_EMAIL=test@example.com", "CUSTOM_VAR=value"} <= set(env)
        decisions = [json.loads(x) for x in (root / ".tutti/state/policy-decisions.jsonl").read_text().splitlines()]
        assert {(d["agent"], d["mode"], d["policy"]) for d in decisions if d["action"] == "launch"} == {
            (n, "unattended", "constrained") for n in "abcd"}
    finally:
        tt("down", cwd=root)


@pytest.mark.slow
def test_resolve_profile_limit_reads_max_concurrent(ws, tt, tmux_socket, global_config):
    """upstream: src/cli/up.rs::tests::resolve_profile_limit_reads_max_concurrent,
    src/cli/up.rs::tests::resolve_profile_limit_none_when_unset"""
    global_config('[[profile]]\nname = "personal"\nprovider = "anthropic"\ncommand = "claude"\nmax_concurrent = 1\n')
    root = ws('[workspace]\nname = "w2"\n[workspace.auth]\ndefault_profile = "personal"\n[defaults]\nruntime = "fake"\n'
              'worktree = false\n[launch]\nmode = "safe"\n[[agent]]\nname = "x"\n[[agent]]\nname = "y"\n')
    try:
        out = json.loads(tt("up", "--json", cwd=root).stdout)[0]
        assert [x["agent"] for x in out["launched"]] == ["x"]
        assert out["skipped"] == [{"agent": "y", "reason": "profile 'personal' at max_concurrent 1"}]
    finally:
        tt("down", cwd=root)
    global_config('[[profile]]\nname = "personal"\nprovider = "anthropic"\ncommand = "claude"\n')
    try:
        out = json.loads(tt("up", "--json", cwd=root).stdout)[0]
        assert [x["agent"] for x in out["launched"]] == ["x", "y"]
    finally:
        tt("down", cwd=root)


def test_resolve_launch_permissions_requires_policy_for_constrained_supported_runtimes(ws, tt, tmux_socket):
    """upstream: src/cli/up.rs::tests::resolve_launch_permissions_requires_policy_for_constrained_supported_runtimes"""
    root = ws('[workspace]\nname = "w3"\n[defaults]\nworktree = false\n[[agent]]\nname = "backend"\nruntime = "claude-code"\n')
    res = tt("up", cwd=root)
    assert res.returncode != 0
    assert "[permissions]" in res.stderr and "Traceback" not in res.stderr


def launch(runtime: str, tmp_path: Path, *, mode: str = "auto", policy: str = "constrained",
           rules: tuple[str, ...] = ("git status", "cargo test")):
    ctx = LaunchContext(agent="backend", workspace="ws", workdir=tmp_path, state_dir=tmp_path / "state",
                        prompt="You own tests.", mode=mode, policy=policy, allow_rules=list(rules))
    return get_adapter(runtime).build_launch(ctx)


def test_build_launch_command_codex_constrained_adds_flags_and_policy_prompt(tmp_path):
    """upstream: src/cli/up.rs::tests::build_launch_command_codex_constrained_adds_flags_and_policy_prompt"""
    spec = launch("codex", tmp_path)
    argv = spec.argv
    assert argv[1:5] == ["-a", "never", "-s", "workspace-write"] and "--prompt" not in argv
    assert "Tutti policy constraints for Codex" in argv[-1]
    assert spec.enforcement == "hard_shim" and spec.env["PATH"].startswith(str(tmp_path / "state"))


@pytest.mark.parametrize(("runtime", "flag", "label"), [("openclaw", "--prompt", "OpenClaw"), ("aider", "--message", "Aider")])
def test_build_launch_command_constrained_adds_policy_prompt(tmp_path, runtime, flag, label):
    """upstream: src/cli/up.rs::tests::build_launch_command_openclaw_constrained_adds_policy_prompt,
    src/cli/up.rs::tests::build_launch_command_aider_constrained_adds_policy_prompt"""
    spec = launch(runtime, tmp_path)
    assert spec.argv[1] == flag and f"Tutti policy constraints for {label}" in spec.argv[2]
    assert spec.enforcement == "hard_shim" and "PATH" in spec.env


def test_build_launch_command_bypass_warns_even_without_runtime_specific_flags(tmp_path):
    """upstream: src/cli/up.rs::tests::build_launch_command_bypass_warns_even_without_runtime_specific_flags"""
    spec = launch("openclaw", tmp_path, mode="unattended", policy="bypass", rules=())
    assert spec.enforcement == "bypass"
    assert any("launch policy is bypass" in note for note in spec.notes)


def test_write_shell_policy_shims_rejects_tool_only_policy(tmp_path):
    """upstream: src/cli/up.rs::tests::write_shell_policy_shims_rejects_tool_only_policy"""
    from tutti.errors import TuttiError

    with pytest.raises(TuttiError, match="shell command allow rules"):
        launch("openclaw", tmp_path, rules=("Read", "Edit"))


def test_runtime_shell_allow_rules_adds_apply_patch_for_codex(tmp_path):
    """upstream: src/cli/up.rs::tests::runtime_shell_allow_rules_adds_apply_patch_for_codex"""
    assert "- apply_patch *" in launch("codex", tmp_path, rules=("git *", "cargo *")).argv[-1]
    assert "apply_patch" not in launch("aider", tmp_path, rules=("git *", "cargo *")).argv[-1]


def test_is_api_usage_plan_is_case_insensitive(global_config):
    """upstream: src/cli/up.rs::tests::is_api_usage_plan_is_case_insensitive,
    src/cli/up.rs::tests::is_api_usage_plan_rejects_non_api_and_missing"""
    from tutti.config.global_config import load_global

    plans = ["api", "API", " Api ", "max", "pro"]
    global_config("".join(f'[[profile]]\nname = "p{i}"\nplan = "{p}"\n' for i, p in enumerate(plans))
                  + '[[profile]]\nname = "none"\n')
    assert [p.plan for p in load_global().profiles] == ["api", "api", "api", "max", "pro", None]


@pytest.mark.parametrize(("value", "rotates"), [
    ("rotate", True), ("rotate_profile", True), ("failover", True), ("AUTO_ROTATE", True), ("profile_rotate", True),
    ("pause", False), (None, False)])
def test_strategy_requests_rotation_accepts_known_values(global_config, value, rotates):
    """upstream: src/cli/up.rs::tests::strategy_requests_rotation_accepts_known_values,
    src/cli/serve.rs::tests::strategy_requests_rotation_matches_supported_values,
    src/cli/watch.rs::tests::strategy_requests_rotation_accepts_known_values,
    src/cli/watch.rs::tests::profile_rotation_enabled_checks_both_strategy_fields"""
    from tutti.config.global_config import load_global
    from tutti.resilience.policy import ROTATE, strategy_kind

    line = f'rate_limit_strategy = "{value}"\n' if value else ""
    global_config(f'[resilience]\nprovider_down_strategy = "pause"\n{line}')
    res = load_global().resilience
    assert (strategy_kind(res.rate_limit_strategy) == ROTATE) is rotates
    assert res.rotation_enabled() is rotates


def test_rotation_strategy_for_trigger_picks_expected_strategy(global_config):
    """upstream: src/cli/serve.rs::tests::rotation_strategy_for_trigger_picks_expected_strategy,
    src/cli/watch.rs (@ 11c9743)::tests::rotation_strategy_for_trigger_prefers_matching_strategy"""
    from tutti.config.global_config import load_global
    from tutti.resilience.policy import ROTATE, RecoveryPolicy, strategy_kind

    def strategy(rate: str, down: str, trigger: str) -> str | None:
        global_config(f'[resilience]\nrate_limit_strategy = "{rate}"\nprovider_down_strategy = "{down}"\n')
        return RecoveryPolicy(load_global().resilience, []).strategy_for(trigger)

    assert strategy("rotate_profile", "pause", "rate_limited") == "rotate_profile"
    assert strategy("pause", "failover", "provider_down") == "failover"
    assert strategy_kind(strategy("pause", "pause", "auth_failed")) != ROTATE


def test_resolve_runtime_launch_attempts_adds_fallback_profiles_by_priority(global_config):
    """upstream: src/cli/up.rs::tests::resolve_runtime_launch_attempts_adds_fallback_profiles_by_priority"""
    from tutti.config.global_config import load_global
    from tutti.ops.agents import launch_profiles

    global_config('[resilience]\nrate_limit_strategy = "rotate_profile"\n'
                  '[[profile]]\nname = "primary"\nprovider = "openai"\ncommand = "/opt/bin/codex-primary"\npriority = 1\n'
                  '[[profile]]\nname = "fallback-b"\nprovider = "openai"\ncommand = "/opt/bin/codex-b"\npriority = 5\n'
                  '[[profile]]\nname = "fallback-a"\nprovider = "openai"\ncommand = "/opt/bin/codex-a"\npriority = 2\n')
    gc = load_global()
    assert [p.name for p in launch_profiles(gc, gc.profile("primary"))] == ["primary", "fallback-a", "fallback-b"]


# -- agent memory ---------------------------------------------------------------------------------
@pytest.fixture
def memory_ws(tmp_path):
    root = tmp_path / "ws"
    (root / ".tutti/state/memory").mkdir(parents=True)
    work = root / ".tutti" / "worktrees" / "backend"
    work.mkdir(parents=True)
    return root, work


def inject(root, work, runtime="claude-code", memory=".tutti/state/memory/backend.md", prompt=None, in_worktree=True):
    from tutti.sessions.memory import inject as _inject

    return _inject(root, "backend", memory, runtime, work, prompt, in_worktree)


def test_inject_agent_memory_writes_managed_section_idempotently(memory_ws):
    """upstream: src/cli/up.rs::tests::inject_agent_memory_writes_managed_section,
    src/cli/up.rs::tests::inject_agent_memory_is_idempotent,
    src/cli/up.rs::tests::prepend_memory_to_prompt_noop_for_claude_code"""
    from tutti.sessions.memory import END, START

    root, work = memory_ws
    (root / ".tutti/state/memory/backend.md").write_text("Learning v1")
    (work / "CLAUDE.md").write_text("# Project\nExisting content")
    assert inject(root, work, prompt="Original prompt").prompt == "Original prompt"
    (root / ".tutti/state/memory/backend.md").write_text("ClickHouse LEFT JOIN returns empty string not NULL")
    inject(root, work)
    text = (work / "CLAUDE.md").read_text()
    assert "Existing content" in text and "ClickHouse LEFT JOIN" in text and "Learning v1" not in text
    assert text.count(START) == 1 and text.count(END) == 1


def test_inject_agent_memory_creates_claude_md_when_missing(memory_ws):
    """upstream: src/cli/up.rs::tests::inject_agent_memory_creates_claude_md_when_missing"""
    root, work = memory_ws
    (root / ".tutti/state/memory/backend.md").write_text("Some memory")
    inject(root, work)
    assert "Some memory" in (work / "CLAUDE.md").read_text()


def test_inject_agent_memory_noop_when_no_memory_config(memory_ws):
    """upstream: src/cli/up.rs::tests::inject_agent_memory_noop_when_no_memory_config"""
    root, work = memory_ws
    assert inject(root, work, memory=None, prompt="p").prompt == "p"
    assert not (work / "CLAUDE.md").exists()


def test_inject_agent_memory_when_memory_file_missing_is_a_clear_error(memory_ws):
    """upstream: src/cli/up.rs::tests::inject_agent_memory_noop_when_memory_file_missing —
    deliberate difference: the original silently launched the agent without its memory when the
    configured file was missing; ours stops with one error naming the key and the file, so a typo
    in `memory` cannot lose an agent's standing instructions unnoticed. Nothing is written."""
    from tutti.errors import ConfigError

    root, work = memory_ws
    with pytest.raises(ConfigError, match="memory: file '.tutti/state/memory/backend.md' not found"):
        inject(root, work)
    assert not (work / "CLAUDE.md").exists()


def test_inject_agent_memory_skips_project_root_and_prepends_to_prompt(memory_ws):
    """upstream: src/cli/up.rs::tests::inject_agent_memory_skips_project_root,
    src/cli/up.rs::tests::prepend_memory_to_prompt_adds_context"""
    root, _ = memory_ws
    (root / ".tutti/state/memory/backend.md").write_text("Important learning")
    (root / "CLAUDE.md").write_text("# Project")
    got = inject(root, root, prompt="Original prompt", in_worktree=False)
    assert (root / "CLAUDE.md").read_text() == "# Project"
    assert "Important learning" in got.prompt and "Original prompt" in got.prompt
    codex = inject(root, root, runtime="codex", prompt="You are a backend dev", in_worktree=True)
    assert codex.prompt.startswith("## Agent Memory") and "You are a backend dev" in codex.prompt
