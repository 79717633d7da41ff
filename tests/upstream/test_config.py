"""Port of the original's `src/config/mod.rs` tests (nutthouse/tutti @ e0f40ce): every tutti.toml
the original accepts parses to the same values here, and every tutti.toml it rejects is rejected
with the same message (ours adds the file and key path around it)."""

from __future__ import annotations

import pytest

from .conftest import WS

BACKEND = '[[agent]]\nname = "backend"\nruntime = "claude-code"\n'
CMD_WF = '[[workflow]]\nname = "verify"\n\n[[workflow.step]]\ntype = "command"\nrun = "echo ok"\n'


def test_parse_minimal_config(load_toml):
    """upstream: src/config/mod.rs::tests::parse_minimal_config"""
    cfg = load_toml('[workspace]\nname = "test-project"\n\n' + BACKEND).config
    assert cfg.workspace.name == "test-project"
    assert [a.name for a in cfg.agents] == ["backend"]


def test_parse_full_config(load_toml):
    """upstream: src/config/mod.rs::tests::parse_full_config"""
    cfg = load_toml('''
[workspace]
name = "medextract"
description = "MedExtract AI medical record extraction"

[workspace.env]
GITHUB_USER = "adamnutt"
git_name = "Adam Nutt"
git_email = "adam@medextract.com.au"

[workspace.auth]
default_profile = "claude-personal"

[defaults]
worktree = true
runtime = "claude-code"

[[agent]]
name = "site"
scope = "site/**"
prompt = "You manage the marketing site."

[[agent]]
name = "pipeline"
runtime = "claude-code"
scope = "src/**"

[[agent]]
name = "codex-tasks"
runtime = "codex"
depends_on = ["site", "pipeline"]

[handoff]
auto = true
threshold = 0.2
include = ["active_task", "file_changes"]

[observe]
dashboard = true
port = 4040
track_cost = true
''').config
    assert cfg.workspace.description == "MedExtract AI medical record extraction"
    assert cfg.workspace.env.git_email == "adam@medextract.com.au"
    assert cfg.workspace.auth.default_profile == "claude-personal"
    assert len(cfg.agents) == 3
    assert cfg.agents[2].depends_on == ["site", "pipeline"]
    assert cfg.handoff.auto is True
    assert cfg.observe.port == 4040


def test_parse_launch_config(load_toml):
    """upstream: src/config/mod.rs::tests::parse_launch_config"""
    cfg = load_toml(WS + '\n[launch]\nmode = "unattended"\npolicy = "bypass"\n').config
    assert (cfg.launch.mode, cfg.launch.policy) == ("unattended", "bypass")


def test_parse_launch_defaults_when_fields_missing(load_toml):
    """upstream: src/config/mod.rs::tests::parse_launch_defaults_when_fields_missing"""
    cfg = load_toml(WS + "\n[launch]\n").config
    assert (cfg.launch.mode, cfg.launch.policy) == ("auto", "constrained")


def test_parse_persistent_agent(load_toml):
    """upstream: src/config/mod.rs::tests::parse_persistent_agent"""
    cfg = load_toml('[workspace]\nname = "t"\n[[agent]]\nname = "pr-monitor"\nruntime = "claude-code"\n'
                    "persistent = true\n").config
    assert cfg.agents[0].persistent is True


def test_parse_workflows_and_hooks(load_toml):
    """upstream: src/config/mod.rs::tests::parse_workflows_and_hooks"""
    cfg = load_toml(WS + '''
[[workflow]]
name = "verify"
description = "Run checks"
schedule = "*/30 * * * *"

[[workflow.step]]
type = "prompt"
id = "scan"
agent = "backend"
text = "Check recent changes."
inject_files = [".tutti/state/snapshot.json"]
wait_for_idle = true
wait_timeout_secs = 1200
output_json = "tmp/scan.json"

[[workflow.step]]
type = "command"
id = "tests"
run = "cargo test --quiet"
cwd = "workspace"
subdir = "backend"
fail_mode = "closed"
timeout_secs = 1200
output_json = "tmp/tests.json"

[[hook]]
event = "agent_stop"
agent = "backend"
workflow = "verify"
fail_mode = "open"

[[hook]]
event = "workflow_complete"
workflow_source = "run"
workflow_name = "verify"
run = "echo done"
''').config
    assert len(cfg.workflows) == 1 and len(cfg.workflows[0].steps) == 2
    assert len(cfg.hooks) == 2


def test_parse_workflow_control_steps(load_toml):
    """upstream: src/config/mod.rs::tests::parse_workflow_control_steps"""
    cfg = load_toml(WS + '[[agent]]\nname = "reviewer"\nruntime = "claude-code"\n' + CMD_WF + '''
[[workflow]]
name = "autofix"

[[workflow.step]]
type = "ensure_running"
agent = "backend"

[[workflow.step]]
type = "workflow"
workflow = "verify"
agent = "backend"
strict = true

[[workflow.step]]
type = "review"
agent = "backend"
reviewer = "reviewer"

[[workflow.step]]
type = "land"
agent = "backend"
force = true
''').config
    assert [s.type for s in cfg.workflows[1].steps] == ["ensure_running", "workflow", "review", "land"]


def test_parse_budget_config(load_toml):
    """upstream: src/config/mod.rs::tests::parse_budget_config"""
    cfg = load_toml('''
[workspace]
name = "test-project"

[defaults]
runtime = "claude-code"

[[agent]]
name = "backend"
prompt = "You own backend."

[budget]
mode = "enforce"
warn_threshold_pct = 85
workspace_weekly_tokens = 1000000

[budget.agent_weekly_tokens]
backend = 250000
''').config
    assert cfg.budget.mode == "enforce"
    assert cfg.budget.warn_threshold_pct == 85.0
    assert cfg.budget.workspace_weekly_tokens == 1_000_000
    assert cfg.budget.agent_weekly_tokens == {"backend": 250_000}


# (original test, toml appended to WS, substring the original asserts on the error)
REJECTED = [
    ("validate_budget_rejects_unknown_agent_caps",
     "\n[budget]\nworkspace_weekly_tokens = 1000000\n[budget.agent_weekly_tokens]\nfrontend = 250000\n",
     "unknown agent"),
    ("validate_schedule_must_be_five_field_cron",
     '[[workflow]]\nname = "verify"\nschedule = "* * * *"\n[[workflow.step]]\ntype = "command"\nrun = "echo ok"\n',
     "invalid schedule"),
    ("validate_output_json_requires_step_id",
     CMD_WF + 'output_json = "out.json"\n', "missing id"),
    ("validate_command_subdir_must_be_relative",
     CMD_WF + 'subdir = "/tmp"\n', "subdir must be workspace-relative"),
    ("validate_command_subdir_cannot_be_empty",
     CMD_WF + 'subdir = "   "\n', "empty subdir"),
    ("validate_depends_on_detects_cycles_for_control_steps",
     '[[agent]]\nname = "reviewer"\nruntime = "claude-code"\n[[workflow]]\nname = "autofix"\n'
     '[[workflow.step]]\ntype = "ensure_running"\nagent = "backend"\ndepends_on = [2]\n'
     '[[workflow.step]]\ntype = "review"\nagent = "backend"\nreviewer = "reviewer"\ndepends_on = [1]\n',
     "cyclic depends_on"),
    ("validate_nested_workflow_reference_must_exist",
     '[[workflow]]\nname = "autofix"\n[[workflow.step]]\ntype = "workflow"\nworkflow = "missing"\n',
     "unknown workflow"),
    ("validate_prompt_inject_files_must_be_relative",
     '[[workflow]]\nname = "verify"\n[[workflow.step]]\ntype = "prompt"\nagent = "backend"\ntext = "check"\n'
     'inject_files = ["/tmp/snapshot.json"]\n', "workspace-relative"),
    ("validate_duplicate_tool_pack_names",
     '[[tool_pack]]\nname = "analytics"\n[[tool_pack]]\nname = "analytics"\n', "duplicate tool_pack name"),
    ("validate_duplicate_names", BACKEND, "duplicate agent name"),
    ("validate_bad_depends_on",
     '[[agent]]\nname = "foo"\nruntime = "claude-code"\ndepends_on = ["nonexistent"]\n', "does not exist"),
    ("validate_self_dependency",
     '[[agent]]\nname = "foo"\nruntime = "claude-code"\ndepends_on = ["foo"]\n', "depends on itself"),
    ("validate_dependency_cycle",
     '[[agent]]\nname = "a"\nruntime = "claude-code"\ndepends_on = ["b"]\n'
     '[[agent]]\nname = "b"\nruntime = "claude-code"\ndepends_on = ["c"]\n'
     '[[agent]]\nname = "c"\nruntime = "claude-code"\ndepends_on = ["a"]\n', "cycle"),
    ("validate_unknown_runtime",
     '[[agent]]\nname = "foo"\nruntime = "invalid-runtime"\n', "unknown runtime"),
    ("validate_rejects_hook_without_action",
     '[[hook]]\nevent = "agent_stop"\n', "exactly one of 'workflow' or 'run'"),
    ("validate_rejects_unknown_hook_workflow",
     CMD_WF + '[[hook]]\nevent = "agent_stop"\nworkflow = "missing"\n', "unknown workflow"),
    ("validate_rejects_workflow_filters_on_non_workflow_event",
     CMD_WF + '[[hook]]\nevent = "agent_stop"\nworkflow = "verify"\nworkflow_source = "run"\n',
     "workflow_source/workflow_name"),
    ("memory_path_must_be_relative",
     'memory = "/tmp/memory.md"\n', "must be relative"),
    ("memory_path_rejects_traversal",
     'memory = "../../etc/passwd"\n', "must not contain '..'"),
]


@pytest.mark.parametrize(("original", "extra", "message"), REJECTED, ids=[r[0] for r in REJECTED])
def test_rejected_configs_keep_the_original_message(config_error, original, extra, message):
    """upstream: src/config/mod.rs::tests::{validate_budget_rejects_unknown_agent_caps,
    validate_schedule_must_be_five_field_cron, validate_output_json_requires_step_id,
    validate_command_subdir_must_be_relative, validate_command_subdir_cannot_be_empty,
    validate_depends_on_detects_cycles_for_control_steps, validate_nested_workflow_reference_must_exist,
    validate_prompt_inject_files_must_be_relative, validate_duplicate_tool_pack_names,
    validate_duplicate_names, validate_bad_depends_on, validate_self_dependency,
    validate_dependency_cycle, validate_unknown_runtime, validate_rejects_hook_without_action,
    validate_rejects_unknown_hook_workflow, validate_rejects_workflow_filters_on_non_workflow_event,
    memory_path_must_be_relative, memory_path_rejects_traversal} (the parameter id names each)."""
    assert message in config_error(WS + extra)


def test_depends_on_is_accepted_on_every_step_type(load_toml):
    """upstream: src/config/mod.rs::tests::validate_depends_on_rejects_non_control_steps

    Deliberate improvement (inventory §12.1/§6): the original rejects `depends_on` on command steps
    ("only ensure_running/review/land steps currently support depends_on execution") because its
    engine ran only control steps as a DAG. Ours runs every step type in DAG waves, so the same
    file is valid; a dangling reference is still rejected."""
    cfg = load_toml(WS + CMD_WF + "depends_on = []\n" +
                    '[[workflow.step]]\ntype = "command"\nrun = "echo two"\ndepends_on = [1]\n').config
    assert cfg.workflows[0].steps[1].depends_on == [1]


def test_memory_field_parses_and_defaults(load_toml):
    """upstream: src/config/mod.rs::tests::memory_field_parses_from_toml,
    src/config/mod.rs::tests::memory_field_defaults_to_none"""
    cfg = load_toml(WS + '[[agent]]\nname = "b2"\nruntime = "claude-code"\n'
                    'memory = ".tutti/state/memory/backend.md"\n').config
    assert cfg.agents[0].memory is None
    assert cfg.agents[1].memory == ".tutti/state/memory/backend.md"


def test_memory_path_allows_double_dot_in_filename(load_toml):
    """upstream: src/config/mod.rs::tests::memory_path_allows_double_dot_in_filename"""
    cfg = load_toml(WS.replace('runtime = "claude-code"\n',
                               'runtime = "claude-code"\nmemory = ".tutti/state/memory/notes..md"\n')).config
    assert cfg.agents[0].memory.endswith("notes..md")


def test_parse_tool_packs(load_toml):
    """upstream: src/config/mod.rs::tests::parse_tool_packs"""
    cfg = load_toml(WS + '[[tool_pack]]\nname = "analytics"\nrequired_commands = ["bq", "jq"]\n'
                    'required_env = ["GCP_PROJECT"]\n').config
    assert [(p.name, p.required_commands, p.required_env) for p in cfg.tool_packs] == [
        ("analytics", ["bq", "jq"], ["GCP_PROJECT"])]


def test_validate_agent_env_parses(load_toml):
    """upstream: src/config/mod.rs::tests::validate_agent_env_parses"""
    cfg = load_toml(WS + '\n[agent.env]\nCUSTOM_KEY = "custom_value"\n').config
    assert cfg.agents[0].env == {"CUSTOM_KEY": "custom_value"}


def test_parse_global_config(global_config, tt_json):
    """upstream: src/config/mod.rs::tests::parse_global_config — the same global file loads (its
    unused keys `monthly_budget`, `show_all_workspaces`, `save_state_on_failure` included)."""
    global_config('''
[user]
name = "Adam Nutt"

[[profile]]
name = "claude-personal"
provider = "anthropic"
command = "claude"
max_concurrent = 5
monthly_budget = 100.00

[[profile]]
name = "claude-work"
provider = "anthropic"
command = "claude"
max_concurrent = 10
priority = 2

[[registered_workspace]]
name = "medextract"
path = "/Users/adamnutt/Documents/GitHub/medextract"

[[registered_workspace]]
name = "4est"
path = "/Users/adamnutt/Documents/GitHub/4est"

[dashboard]
port = 4040
show_all_workspaces = true

[resilience]
provider_down_strategy = "pause"
save_state_on_failure = true
''')
    from tutti.config.global_config import load_global

    cfg = load_global()
    assert cfg.user.name == "Adam Nutt"
    assert [(p.name, p.max_concurrent) for p in cfg.profiles] == [("claude-personal", 5), ("claude-work", 10)]
    assert [w.name for w in cfg.registered_workspaces] == ["medextract", "4est"]
    assert cfg.dashboard.show_all_workspaces is True
    assert cfg.resilience.save_state_on_failure is True
    # and the CLI reads the same file: both registered workspaces are listed
    rc, data, err = tt_json("workspaces")
    assert rc == 0, err
    assert {w["name"] for w in (data if isinstance(data, list) else data["workspaces"])} >= {"medextract", "4est"}


def test_resolved_runtime_falls_back_to_default(ws, tt_json):
    """upstream: src/config/mod.rs::tests::resolved_runtime_falls_back_to_default — an agent without
    `runtime` uses `[defaults] runtime` (seen by `tt doctor`'s runtime check)."""
    root = ws('[workspace]\nname = "t"\n[defaults]\nruntime = "codex"\n[[agent]]\nname = "backend"\n')
    _, data, err = tt_json("doctor", cwd=root)
    check = next(c for c in data["checks"] if c["check"] == "runtime/backend")
    assert "codex" in check["detail"], check


def test_resolved_branch_and_fresh_worktree_defaults(load_toml):
    """upstream: src/config/mod.rs::tests::resolved_branch_default,
    src/config/mod.rs::tests::resolved_fresh_worktree_defaults_false — the branch is `tutti/{agent}`
    (seen end to end by tests/upstream/test_up.py::test_up_creates_worktree_on_agent_branch)."""
    agent = load_toml(WS).config.agents[0]
    assert agent.fresh_worktree is False
    assert agent.branch is None


def test_global_config_register_workspace(git_repo, tmp_path, tt):
    """upstream: src/config/mod.rs::tests::global_config_register_workspace — registering is
    idempotent per name; re-registering the same name elsewhere updates its path (the original
    updates silently; ours refuses to steal a name registered to another live workspace, see
    commit 7cf5006, so we assert the idempotent half through the library)."""
    from tutti.config.global_config import register_workspace, registered_workspaces

    register_workspace("test", git_repo)
    register_workspace("test", git_repo)
    regs = registered_workspaces()
    assert [(r.name, r.path) for r in regs] == [("test", str(git_repo))]


def test_webhook_config_serde_round_trip(load_toml):
    """upstream: src/config/mod.rs::tests::webhook_config_serde_round_trip"""
    cfg = load_toml('''
[workspace]
name = "test"

[[agent]]
name = "implementer"
runtime = "claude-code"

[[workflow]]
name = "sdlc-auto"
[[workflow.step]]
type = "command"
run = "true"

[[webhook]]
source = "github"
events = ["issues.labeled", "push"]
workflow = "sdlc-auto"

[[webhook]]
source = "generic"
events = ["*"]
agent = "implementer"
prompt = "Handle incoming event"
''').config
    w0, w1 = cfg.webhooks
    assert (w0.source, w0.events, w0.workflow, w0.agent) == ("github", ["issues.labeled", "push"], "sdlc-auto", None)
    assert (w1.source, w1.events, w1.workflow, w1.agent, w1.prompt) == (
        "generic", ["*"], None, "implementer", "Handle incoming event")


def test_webhook_config_empty_is_default(load_toml):
    """upstream: src/config/mod.rs::tests::webhook_config_empty_is_default"""
    assert load_toml('[workspace]\nname = "test"\n').config.webhooks == []
