"""Launch command lines per runtime, mode and policy (inventory §5.4), as argv lists."""

from __future__ import annotations

import json
import os
import sys

import pytest

from tutti.config.models import TuttiConfig
from tutti.errors import ConfigError, PolicyError
from tutti.runtimes.base import LaunchContext
from tutti.runtimes.registry import get_adapter


def ctx(tmp_path, **kw) -> LaunchContext:
    base = {"agent": "coder", "workspace": "ws", "workdir": tmp_path / "wt", "state_dir": tmp_path / "state",
            "prompt": "Fix the bug; don't break 'things'"}
    base.update(kw)
    return LaunchContext(**base)


def test_safe_mode_passes_the_prompt_the_way_each_runtime_expects(tmp_path):
    c = ctx(tmp_path, mode="safe")
    p = c.prompt
    assert get_adapter("claude-code").build_launch(c).argv == ["claude", p]
    assert get_adapter("codex").build_launch(c).argv == ["codex", p]
    assert get_adapter("aider").build_launch(c).argv == ["aider", "--message", p]
    assert get_adapter("openclaw").build_launch(c).argv == ["openclaw", "--prompt", p]
    assert get_adapter("gemini-cli").build_launch(c).argv == ["gemini", "-i", p]
    assert get_adapter("claude-code").build_launch(c).enforcement == "prompt"


def test_unattended_bypass_uses_each_runtimes_bypass_flag(tmp_path):
    c = ctx(tmp_path, mode="unattended", policy="bypass", prompt=None)
    assert get_adapter("claude-code").build_launch(c).argv == ["claude", "--permission-mode", "bypassPermissions"]
    assert get_adapter("codex").build_launch(c).argv == ["codex", "--dangerously-bypass-approvals-and-sandbox"]
    assert get_adapter("gemini-cli").build_launch(c).argv == ["gemini", "--yolo"]
    aider = get_adapter("aider").build_launch(c)
    assert aider.argv == ["aider"] and aider.enforcement == "bypass"
    assert "without permission prompts" in aider.notes[0]


def test_constrained_claude_writes_settings_and_uses_dont_ask(tmp_path):
    c = ctx(tmp_path, mode="auto", allow_rules=["Read", "git status"])
    spec = get_adapter("claude-code").build_launch(c)
    settings = tmp_path / "state" / "runtime-settings" / "coder-claude-settings.json"
    assert spec.argv == ["claude", "--permission-mode", "dontAsk", "--settings", str(settings), c.prompt]
    assert json.loads(settings.read_text()) == {"permissions": {"allow": ["Read", "Bash(git status)"]}}
    assert spec.enforcement == "hard"


def test_constrained_codex_gets_shims_on_path_and_the_policy_appendix(tmp_path):
    c = ctx(tmp_path, mode="unattended", policy="constrained", allow_rules=["git status", "Read"],
            env={"PATH": "/usr/bin:/bin", "FOO": "1"})
    spec = get_adapter("codex").build_launch(c)
    shim_dir = tmp_path / "state" / "runtime-shims" / "coder"
    assert spec.argv[:5] == ["codex", "-a", "never", "-s", "workspace-write"]
    assert spec.argv[5].startswith(c.prompt + "\n\nTutti policy constraints for Codex:")
    assert "- git status\n- apply_patch *" in spec.argv[5]
    assert spec.env["PATH"] == f"{shim_dir}{os.pathsep}/usr/bin:/bin"
    assert spec.env["FOO"] == "1"
    assert (shim_dir / "allow.rules").read_text() == "git status\napply_patch *\n"
    assert spec.enforcement == "hard_shim"


@pytest.mark.parametrize("runtime,flag", [("aider", "--message"), ("openclaw", "--prompt")])
def test_constrained_shim_runtimes_put_the_appendix_in_the_prompt(tmp_path, runtime, flag):
    spec = get_adapter(runtime).build_launch(ctx(tmp_path, allow_rules=["make *"]))
    assert spec.argv[1] == flag
    assert "Only execute Bash commands matching" in spec.argv[2]


def test_constrained_without_rules_is_a_policy_error_with_guidance(tmp_path):
    with pytest.raises(PolicyError) as exc:
        get_adapter("claude-code").build_launch(ctx(tmp_path, mode="auto"))
    assert "requires [permissions] allow rules" in exc.value.message
    assert "tt up --mode safe" in exc.value.hint and "--policy bypass" in exc.value.hint


def test_shim_runtime_with_only_tool_rules_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError) as exc:
        get_adapter("codex").build_launch(ctx(tmp_path, allow_rules=["Read", "Edit"]))
    assert exc.value.message == "coder constrained launch requires shell command allow rules in [permissions].allow"


def test_command_override_is_split_without_a_shell(tmp_path):
    spec = get_adapter("claude-code").build_launch(ctx(tmp_path, mode="safe", command="/opt/claude --model 'opus x'"))
    assert spec.argv[:3] == ["/opt/claude", "--model", "opus x"]


def test_unknown_mode_and_runtime_are_config_errors(tmp_path):
    with pytest.raises(ConfigError):
        get_adapter("codex").build_launch(ctx(tmp_path, mode="yolo"))
    with pytest.raises(ConfigError) as exc:
        get_adapter("cursor")
    assert "unknown runtime 'cursor'" in exc.value.message and "[[runtime]]" in exc.value.hint


def test_submit_delays():
    assert get_adapter("codex").submit_delay_secs() == pytest.approx(0.5)
    assert get_adapter("claude-code").submit_delay_secs() < 0.5


def config_with_runtime(**rt) -> TuttiConfig:
    return TuttiConfig.model_validate({"workspace": {"name": "ws"}, "runtime": [{"name": "mycli", "command": "mycli --fast", **rt}]})


def test_custom_runtime_from_config_launches_and_classifies(tmp_path):
    cfg = config_with_runtime(prompt="flag", prompt_flag="--ask", args=["--color", "never"],
                              working=[r"Crunching\.\.\."], idle=[r"^mycli> $|^mycli>$"],
                              waiting=[r"\[y/N\]"], submit_delay_ms=300)
    adapter = get_adapter("mycli", cfg)
    spec = adapter.build_launch(ctx(tmp_path, mode="safe", prompt="hi"))
    assert spec.argv == ["mycli", "--fast", "--color", "never", "--ask", "hi"]
    assert adapter.submit_delay_secs() == pytest.approx(0.3)
    assert adapter.classify("hello\nCrunching...\n").state.value == "working"
    assert adapter.classify("done\nmycli>\n").state.value == "idle"
    assert adapter.classify("Delete? [y/N]\n").state.value == "waiting"
    assert adapter.classify("Error: 401 Unauthorized\nmycli>\n").state.value == "auth_failed"


def test_custom_runtime_bad_regex_names_the_key():
    with pytest.raises(ConfigError) as exc:
        get_adapter("mycli", config_with_runtime(working=["ok", "(unclosed"]))
    assert "[[runtime]] 'mycli' working[1] is not a valid regex" in exc.value.message


def test_fake_runtime_launches_the_fake_agent_with_its_look(tmp_path):
    # No look chosen: the agent takes its script's `look` (default claude); the classifier
    # follows the `fake:<look>` marker it prints.
    spec = get_adapter("fake").build_launch(ctx(tmp_path, prompt="go"))
    assert spec.argv == [sys.executable, "-m", "tutti.testing.fake_agent", "--prompt", "go"]
    spec = get_adapter("fake:codex").build_launch(ctx(tmp_path, mode="unattended", policy="bypass", prompt=None))
    assert spec.argv[-3:] == ["codex", "--permission-mode", "bypass"]
    assert get_adapter("fake:gemini").classify(" ⠼ Thinking... (esc to cancel, 5s)\n").state.value == "working"
