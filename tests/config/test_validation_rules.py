"""Every validation rule of inventory §2.3 (plus Tutti's additions), each asserting its message."""

from __future__ import annotations

import pytest
from tests.config.conftest import BASE

from tutti.config.issues import ConfigValidationError

A_WF = '\n[[workflow]]\nname = "w"\n'


def step(body: str) -> str:
    return f"\n[[workflow.step]]\n{body}\n"


CMD = step('type = "command"\nrun = "true"')

# (id, toml appended to BASE (or full document when it starts with [workspace]), exact message, key path)
RULES = [
    ("duplicate_agent", '[[agent]]\nname = "a"\nruntime = "codex"',
     "duplicate agent name: 'a'", "agent 'a' → name"),
    ("agent_dep_missing", '[[agent]]\nname = "c"\nruntime = "codex"\ndepends_on = ["zz"]',
     "agent 'c' depends on 'zz', which does not exist", "agent 'c' → depends_on[1]"),
    ("agent_dep_self", '[[agent]]\nname = "c"\nruntime = "codex"\ndepends_on = ["c"]',
     "agent 'c' depends on itself", "agent 'c' → depends_on"),
    ("agent_cycle", ('[[agent]]\nname = "c"\nruntime = "codex"\ndepends_on = ["d"]\n'
                     '[[agent]]\nname = "d"\nruntime = "codex"\ndepends_on = ["c"]'),
     "dependency cycle detected among agents", "agent → depends_on"),
    ("role_no_table", '[[agent]]\nname = "c"\nrole = "tester"',
     "agent 'c' has role 'tester' but [roles] table is not defined", "agent 'c' → role"),
    ("role_undefined", '[roles]\nplanner = "codex"\n[[agent]]\nname = "c"\nrole = "tester"',
     "agent 'c' has role 'tester' but [roles] does not define it", "agent 'c' → role"),
    ("unknown_runtime", '[[agent]]\nname = "c"\nruntime = "cursor"',
     "agent 'c' uses unknown runtime 'cursor'", "agent 'c' → runtime"),
    ("unknown_fake_look", '[[agent]]\nname = "c"\nruntime = "fake:vim"',
     "agent 'c' uses unknown runtime 'fake:vim'", "agent 'c' → runtime"),
    ("unknown_runtime_via_role", '[roles]\nx = "nope"\n[[agent]]\nname = "c"\nrole = "x"',
     "agent 'c' uses unknown runtime 'nope'", "roles → x"),
    ("memory_empty", '[[agent]]\nname = "c"\nruntime = "codex"\nmemory = " "',
     "agent 'c' has empty memory path", "agent 'c' → memory"),
    ("memory_absolute", '[[agent]]\nname = "c"\nruntime = "codex"\nmemory = "/etc/passwd"',
     "agent 'c' memory path must be relative: '/etc/passwd'", "agent 'c' → memory"),
    ("memory_parent", '[[agent]]\nname = "c"\nruntime = "codex"\nmemory = "docs/../../x.md"',
     "agent 'c' memory path must not contain '..': 'docs/../../x.md'", "agent 'c' → memory"),
    ("webhook_source_empty", '[[webhook]]\nsource = " "\nagent = "a"',
     "webhook[1] source cannot be empty", "webhook[1] → source"),
    ("webhook_prompt_without_agent", A_WF + CMD + '[[webhook]]\nsource = "github"\nworkflow = "w"\nprompt = "hi"',
     "webhook[1] prompt is only supported for direct agent dispatch; remove 'prompt' or switch to agent-only dispatch",
     "webhook[1] → prompt"),
    ("webhook_no_target", '[[webhook]]\nsource = "github"',
     "webhook[1] (source 'github') must specify either 'workflow' or 'agent'", "webhook[1]"),
    ("webhook_both_targets", A_WF + CMD + '[[webhook]]\nsource = "slack"\nworkflow = "w"\nagent = "a"',
     "webhook[1] (source 'slack') must specify 'workflow' or 'agent', not both", "webhook[1]"),
    ("webhook_unknown_workflow", '[[webhook]]\nsource = "github"\nworkflow = "nope"',
     "webhook[1] references unknown workflow 'nope'", "webhook[1] → workflow"),
    ("webhook_unknown_agent", '[[webhook]]\nsource = "github"\nagent = "nope"',
     "webhook[1] references unknown agent 'nope'", "webhook[1] → agent"),
    ("workflow_name_empty", '[[workflow]]\nname = ""' + CMD,
     "workflow name cannot be empty", "workflow[1] → name"),
    ("workflow_duplicate", A_WF + CMD + A_WF + CMD,
     "duplicate workflow name: 'w'", "workflow 'w' → name"),
    ("workflow_no_steps", A_WF,
     "workflow 'w' must have at least one step", "workflow 'w'"),
    ("schedule_empty", A_WF + 'schedule = ""\n' + CMD,
     "workflow 'w' has empty schedule", "workflow 'w' → schedule"),
    ("schedule_fields", A_WF + 'schedule = "* * * *"\n' + CMD,
     "workflow 'w' has invalid schedule '* * * *': expected 5-field cron expression (minute hour dom month dow)",
     "workflow 'w' → schedule"),
    ("schedule_unparsable", A_WF + 'schedule = "61 * * * *"\n' + CMD,
     "workflow 'w' has invalid schedule '61 * * * *': cron parse failed:", "workflow 'w' → schedule"),
    ("prompt_wait_without_idle", A_WF + step('type = "prompt"\nagent = "a"\ntext = "go"\nwait_timeout_secs = 5'),
     ("workflow 'w', step 1 sets wait_timeout_secs/startup_grace_secs but wait_for_idle is false; "
      "set wait_for_idle = true or remove the wait settings"), "workflow 'w' → step 1 (prompt) → wait_for_idle"),
    ("prompt_unknown_agent", A_WF + step('type = "prompt"\nagent = "zz"\ntext = "go"'),
     "workflow 'w', step 1 references unknown agent 'zz'", "workflow 'w' → step 1 (prompt) → agent"),
    ("prompt_empty_text", A_WF + step('type = "prompt"\nagent = "a"\ntext = "  "'),
     "workflow 'w', step 1 has empty prompt text", "workflow 'w' → step 1 (prompt) → text"),
    ("inject_empty", A_WF + step('type = "prompt"\nagent = "a"\ntext = "go"\ninject_files = [""]'),
     "workflow 'w', step 1 has empty inject_files entry", "workflow 'w' → step 1 (prompt) → inject_files[1]"),
    ("inject_absolute", A_WF + step('type = "prompt"\nagent = "a"\ntext = "go"\ninject_files = ["/etc/x"]'),
     "workflow 'w', step 1 inject_files must be workspace-relative: '/etc/x'",
     "workflow 'w' → step 1 (prompt) → inject_files[1]"),
    ("artifact_pair", A_WF + step('type = "prompt"\nid = "s"\nagent = "a"\ntext = "go"\nartifact_glob = "*.md"'),
     "workflow 'w', step 1 must set both artifact_glob and artifact_name, or neither",
     "workflow 'w' → step 1 (prompt) → artifact_name"),
    ("artifact_needs_id", A_WF + step('type = "prompt"\nagent = "a"\ntext = "go"\nartifact_glob = "*.md"\n'
                                      'artifact_name = "doc"'),
     "workflow 'w', step 1 uses artifact_name but is missing id", "workflow 'w' → step 1 (prompt) → id"),
    ("artifact_glob_empty", A_WF + step('type = "prompt"\nid = "s"\nagent = "a"\ntext = "go"\nartifact_glob = ""\n'
                                        'artifact_name = "doc"'),
     "workflow 'w', step 1 has empty artifact_glob", "workflow 'w' → step 1 (prompt) → artifact_glob"),
    ("artifact_name_empty", A_WF + step('type = "prompt"\nid = "s"\nagent = "a"\ntext = "go"\nartifact_glob = "*.md"\n'
                                        'artifact_name = " "'),
     "workflow 'w', step 1 has empty artifact_name", "workflow 'w' → step 1 (prompt) → artifact_name"),
    ("artifact_name_chars", A_WF + step('type = "prompt"\nid = "s"\nagent = "a"\ntext = "go"\nartifact_glob = "*.md"\n'
                                        'artifact_name = "my doc"'),
     "workflow 'w', step 1 artifact_name 'my doc' contains invalid characters; only [A-Za-z0-9_-] are allowed",
     "workflow 'w' → step 1 (prompt) → artifact_name"),
    ("output_json_needs_id", A_WF + step('type = "command"\nrun = "true"\noutput_json = "o.json"'),
     "workflow 'w', step 1 uses output_json but is missing id", "workflow 'w' → step 1 (command) → output_json"),
    ("id_empty", A_WF + step('type = "command"\nid = " "\nrun = "true"'),
     "workflow 'w', step 1 has empty id", "workflow 'w' → step 1 (command) → id"),
    ("id_duplicate", A_WF + step('type = "command"\nid = "x"\nrun = "true"') + step('type = "command"\nid = "x"\nrun = "true"'),
     "workflow 'w' has duplicate step id 'x'", "workflow 'w' → step 2 (command) → id"),
    ("output_json_empty", A_WF + step('type = "command"\nid = "x"\nrun = "true"\noutput_json = ""'),
     "workflow 'w', step 1 has empty output_json", "workflow 'w' → step 1 (command) → output_json"),
    ("command_empty", A_WF + step('type = "command"\nrun = " "'),
     "workflow 'w', step 1 has empty command", "workflow 'w' → step 1 (command) → run"),
    ("subdir_empty", A_WF + CMD + step('type = "command"\nrun = "true"\nsubdir = ""'),
     "workflow 'w', step 2 has empty subdir", "workflow 'w' → step 2 (command) → subdir"),
    ("subdir_absolute", A_WF + step('type = "command"\nrun = "true"\nsubdir = "/tmp"'),
     "workflow 'w', step 1 subdir must be workspace-relative: '/tmp'", "workflow 'w' → step 1 (command) → subdir"),
    ("nested_empty", A_WF + step('type = "workflow"\nworkflow = ""'),
     "workflow 'w', step 1 has empty nested workflow name", "workflow 'w' → step 1 (workflow) → workflow"),
    ("nested_unknown", A_WF + step('type = "workflow"\nworkflow = "ghost"'),
     "workflow 'w', step 1 references unknown workflow 'ghost'", "workflow 'w' → step 1 (workflow) → workflow"),
    ("reviewer_unknown", A_WF + step('type = "review"\nagent = "a"\nreviewer = "ghost"'),
     "workflow 'w', step 1 references unknown reviewer agent 'ghost'", "workflow 'w' → step 1 (review) → reviewer"),
    ("depends_invalid", A_WF + CMD + step('type = "command"\nrun = "true"\ndepends_on = [7]'),
     "workflow 'w', step 2 depends_on references invalid step 7", "workflow 'w' → step 2 (command) → depends_on"),
    ("depends_self", A_WF + CMD + step('type = "command"\nrun = "true"\ndepends_on = [2]'),
     "workflow 'w', step 2 cannot depend on itself", "workflow 'w' → step 2 (command) → depends_on"),
    ("depends_duplicate", A_WF + CMD + step('type = "command"\nrun = "true"\ndepends_on = [1, 1]'),
     "workflow 'w', step 2 has duplicate depends_on step 1", "workflow 'w' → step 2 (command) → depends_on"),
    ("depends_cycle", A_WF + step('type = "command"\nrun = "true"\ndepends_on = [2]')
     + step('type = "command"\nrun = "true"\ndepends_on = [1]'),
     "workflow 'w' has cyclic depends_on graph", "workflow 'w' → depends_on"),
    ("hook_unknown_agent", '[[hook]]\nevent = "agent_stop"\nagent = "zz"\nrun = "true"',
     "hook references unknown agent 'zz'", "hook[1] (agent_stop) → agent"),
    ("hook_exactly_one", '[[hook]]\nevent = "agent_stop"',
     "hook must specify exactly one of 'workflow' or 'run'", "hook[1] (agent_stop)"),
    ("hook_unknown_workflow", '[[hook]]\nevent = "agent_stop"\nworkflow = "ghost"',
     "hook references unknown workflow 'ghost'", "hook[1] (agent_stop) → workflow"),
    ("hook_run_empty", '[[hook]]\nevent = "agent_stop"\nrun = " "',
     "hook run command cannot be empty", "hook[1] (agent_stop) → run"),
    ("hook_filters_need_workflow_complete", '[[hook]]\nevent = "agent_stop"\nrun = "true"\nworkflow_source = "run"',
     "hook workflow_source/workflow_name filters require event='workflow_complete'", "hook[1] (agent_stop)"),
    ("hook_workflow_name_empty", '[[hook]]\nevent = "workflow_complete"\nrun = "true"\nworkflow_name = ""',
     "hook workflow_name cannot be empty", "hook[1] (workflow_complete) → workflow_name"),
    ("tool_pack_name_empty", '[[tool_pack]]\nname = ""',
     "tool_pack name cannot be empty", "tool_pack[1] → name"),
    ("tool_pack_duplicate", '[[tool_pack]]\nname = "t"\n[[tool_pack]]\nname = "t"',
     "duplicate tool_pack name: 't'", "tool_pack 't' → name"),
    ("tool_pack_empty_command", '[[tool_pack]]\nname = "t"\nrequired_commands = ["git", ""]',
     "tool_pack 't' has empty required_commands entry", "tool_pack 't' → required_commands[2]"),
    ("tool_pack_empty_env", '[[tool_pack]]\nname = "t"\nrequired_env = [" "]',
     "tool_pack 't' has empty required_env entry", "tool_pack 't' → required_env[1]"),
    ("budget_threshold", '[budget]\nwarn_threshold_pct = 0.0',
     "budget.warn_threshold_pct must be in (0, 100]", "budget → warn_threshold_pct"),
    ("budget_threshold_high", '[budget]\nwarn_threshold_pct = 100.5',
     "budget.warn_threshold_pct must be in (0, 100]", "budget → warn_threshold_pct"),
    ("budget_workspace_tokens", '[budget]\nworkspace_weekly_tokens = 0',
     "budget.workspace_weekly_tokens must be > 0", "budget → workspace_weekly_tokens"),
    ("budget_empty_agent_key", '[budget.agent_weekly_tokens]\n"" = 5',
     "budget.agent_weekly_tokens contains an empty agent key", "budget → agent_weekly_tokens → ''"),
    ("budget_agent_cap", '[budget.agent_weekly_tokens]\na = 0',
     "budget.agent_weekly_tokens['a'] must be > 0", "budget → agent_weekly_tokens → a"),
    ("budget_unknown_agent", '[budget.agent_weekly_tokens]\nzz = 10',
     "budget.agent_weekly_tokens references unknown agent 'zz'", "budget → agent_weekly_tokens → zz"),
    # -- Tutti additions ------------------------------------------------------------------------
    ("workspace_name_empty", '[workspace]\nname = " "\n[[agent]]\nname = "a"\nruntime = "codex"', "workspace name cannot be empty", "workspace → name"),
    ("agent_name_escapes", '[[agent]]\nname = ".."\nruntime = "codex"',
     "agent name '..' must be a plain name (letters, digits, '.', '_', '-')", "agent '..' → name"),
    ("agent_name_path", '[[agent]]\nname = "x/../../y"\nruntime = "codex"',
     "agent name 'x/../../y' must be a plain name", "agent 'x/../../y' → name"),
    ("agent_name_option", '[[agent]]\nname = "-b"\nruntime = "codex"',
     "agent name '-b' must be a plain name", "agent '-b' → name"),
    ("agent_branch_invalid", '[[agent]]\nname = "c"\nruntime = "codex"\nbranch = "feature..x"',
     "agent 'c' has invalid branch name 'feature..x'", "agent 'c' → branch"),
    ("agent_branch_option", '[[agent]]\nname = "c"\nruntime = "codex"\nbranch = "--force"',
     "agent 'c' has invalid branch name '--force'", "agent 'c' → branch"),
    ("custom_runtime_duplicate", '[[runtime]]\nname = "x"\ncommand = "x"\n[[runtime]]\nname = "x"\ncommand = "y"',
     "duplicate runtime name: 'x'", "runtime 'x' → name"),
    ("custom_runtime_empty_command", '[[runtime]]\nname = "x"\ncommand = ""',
     "runtime 'x' has empty command", "runtime 'x' → command"),
    ("custom_runtime_bad_regex", '[[runtime]]\nname = "x"\ncommand = "x"\nworking = ["ok", "(unclosed"]',
     "runtime 'x' has invalid working pattern '(unclosed'", "runtime 'x' → working[2]"),
    ("custom_runtime_flag_without_name", '[[runtime]]\nname = "x"\ncommand = "x"\nprompt = "flag"',
     "runtime 'x' sets prompt = \"flag\" but has no prompt_flag", "runtime 'x' → prompt_flag"),
    ("timezone_unknown", A_WF + 'schedule = "0 9 * * *"\ntimezone = "Mars/Olympus"\n' + CMD,
     "workflow 'w' has invalid timezone 'Mars/Olympus': unknown IANA time zone", "workflow 'w' → timezone"),
    ("subdir_parent", A_WF + step('type = "command"\nrun = "true"\nsubdir = "../other"'),
     "workflow 'w', step 1 subdir must not contain '..': '../other'", "workflow 'w' → step 1 (command) → subdir"),
    ("command_unknown_agent", A_WF + step('type = "command"\nrun = "true"\nagent = "zz"'),
     "workflow 'w', step 1 references unknown agent 'zz'", "workflow 'w' → step 1 (command) → agent"),
    ("nested_loop", A_WF + step('type = "workflow"\nworkflow = "v"') + '\n[[workflow]]\nname = "v"\n'
     + step('type = "workflow"\nworkflow = "w"'),
     "workflow 'w' runs itself through nested workflow steps (w → v → w)", "workflow 'w'"),
    ("gate_unknown_workflow", '[gate]\nworkflow = "ghost"',
     "gate references unknown workflow 'ghost'", "gate → workflow"),
]


def document(extra: str) -> str:
    return extra + "\n" if extra.startswith("[workspace]") else BASE + "\n" + extra + "\n"


@pytest.mark.parametrize("extra,message,key_path", [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_rule_rejects_with_exact_message_and_key_path(load_text, extra, message, key_path):
    with pytest.raises(ConfigValidationError) as info:
        load_text(document(extra))
    err = info.value
    assert f"invalid config: {message}" in err.message
    assert err.key_path.startswith(key_path)
    assert err.message.startswith("tutti.toml: ") or "tutti.toml: " in err.message
    assert err.hint and err.exit_code == 2


def test_every_rule_also_reported_by_validate_all(tmp_path):
    from tutti.config.load import diagnose_config

    for name, extra, message, _ in RULES:
        path = tmp_path / f"{name}.toml"
        path.write_text(document(extra), encoding="utf-8")
        report = diagnose_config(path)
        assert any(f"invalid config: {message}" in i.message for i in report.issues), name


def test_validate_all_collects_several_problems_in_order(tmp_path):
    from tutti.config.load import diagnose_config

    path = tmp_path / "tutti.toml"
    path.write_text(BASE + '[[agent]]\nname = "a"\nruntime = "codex"\n[[agent]]\nname = "c"\nruntime = "vim"\n'
                    + A_WF + step('type = "command"\nrun = ""'), encoding="utf-8")
    messages = [i.message for i in diagnose_config(path).issues]
    assert messages == [
        "invalid config: duplicate agent name: 'a'",
        "invalid config: agent 'c' uses unknown runtime 'vim'",
        "invalid config: workflow 'w', step 1 has empty command",
    ]


@pytest.mark.parametrize("extra", [
    # depends_on is allowed on every step type (the original allowed it only on control steps)
    A_WF + CMD + step('type = "command"\nrun = "true"\ndepends_on = [1]')
    + step('type = "prompt"\nagent = "a"\ntext = "go"\ndepends_on = [1]'),
    # explicit empty depends_on = a root step
    A_WF + CMD + step('type = "command"\nrun = "true"\ndepends_on = []'),
    # an API-direct agent needs no CLI runtime, even when [defaults].runtime is unknown
    '[[agent]]\nname = "api"\nprovider = "anthropic"\nmodel = "claude-sonnet"',
    # a [[runtime]] declared in the file is a known runtime
    '[[runtime]]\nname = "mycli"\ncommand = "mycli"\nidle = ["^> $"]\n[[agent]]\nname = "c"\nruntime = "mycli"',
    # artifact polling mode may set wait settings without wait_for_idle (the gstack flow)
    A_WF + step('type = "prompt"\nid = "d"\nagent = "a"\ntext = "/office-hours"\nwait_timeout_secs = 60\n'
                'artifact_glob = "~/.gstack/projects/{slug}/*-design-*.md"\nartifact_name = "design_doc"'),
    # a valid schedule with an IANA time zone
    A_WF + 'schedule = "*/30 9-17 * * 1-5"\ntimezone = "Europe/Berlin"\n' + CMD,
    # the runtime registry's aliases and the fake agent's looks
    '[[agent]]\nname = "c"\nruntime = "claude"\n[[agent]]\nname = "d"\nruntime = "fake:codex"',
    # ordinary agent names and branches
    '[[agent]]\nname = "docs-release"\nruntime = "codex"\nbranch = "auto/issue-42"\n'
    '[[agent]]\nname = "api_v2.1"\nruntime = "codex"\nbranch = "feature/x"',
    # ensure_running steps may carry an id (real templates do)
    A_WF + step('type = "ensure_running"\nid = "ensure_a"\nagent = "a"'),
])
def test_accepts_tutti_extensions(load_text, extra):
    loaded = load_text(BASE + "\n" + extra + "\n")
    assert loaded.warnings == []


def test_tt_exits_2_with_one_line_error_and_hint(tt, tmp_path):
    (tmp_path / "tutti.toml").write_text(BASE + A_WF + CMD + step('type = "command"\nrun = "true"\nsubdir = ""'))
    result = tt("run", "--list", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    first, hint = result.stderr.strip().splitlines()[:2]
    assert first == ("error[config]: tutti.toml: invalid config: workflow 'w', step 2 has empty subdir "
                     "(at workflow 'w' → step 2 (command) → subdir)")
    assert hint.startswith("  hint: ")


def test_output_json_on_a_step_type_without_it_is_only_an_unknown_key(load_text):
    """Found by the property test: an extra key must never be mistaken for a real field."""
    loaded = load_text(BASE + A_WF + step('type = "ensure_running"\nagent = "a"\noutput_json = ["x"]'))
    assert loaded.warnings[0].endswith("unknown key 'workflow 'w' → step 1 (ensure_running) → output_json' (ignored)")
