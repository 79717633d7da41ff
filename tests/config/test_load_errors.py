"""Model errors (wrong types, missing keys, bad enums, unknown step types) and unreadable files
become one-line ConfigErrors naming the file and the key path — never a traceback."""

from __future__ import annotations

import os

import pytest
from tests.config.conftest import BASE

from tutti.config.issues import ConfigValidationError
from tutti.config.load import diagnose_config, load_config
from tutti.errors import ConfigError

CASES = [
    ("wrong_type_in_step", ('[[workflow]]\nname = "verify"\n[[workflow.step]]\ntype = "command"\nrun = "true"\n'
                            '[[workflow.step]]\ntype = "command"\nrun = "x"\ntimeout_secs = "ten"'),
     "workflow 'verify' → step 2 (command) → timeout_secs: expected an integer, got \"ten\""),
    ("missing_run", '[[workflow]]\nname = "verify"\n[[workflow.step]]\ntype = "command"',
     "workflow 'verify' → step 1 (command) → run: missing required key 'run'"),
    ("bad_enum", '[[workflow]]\nname = "verify"\n[[workflow.step]]\ntype = "command"\nrun = "x"\nfail_mode = "soft"',
     "workflow 'verify' → step 1 (command) → fail_mode: must be 'open' or 'closed', got \"soft\""),
    ("unknown_step_type", '[[workflow]]\nname = "verify"\n[[workflow.step]]\ntype = "shell"\nrun = "x"',
     "workflow 'verify' → step 1 (shell): unknown step type \"shell\""),
    ("step_without_type", '[[workflow]]\nname = "verify"\n[[workflow.step]]\nrun = "x"',
     "workflow 'verify' → step 1: step has no 'type'"),
    ("agent_by_name", '[[agent]]\nname = "c"\nworktree = "yes"',
     "agent 'c' → worktree: expected true or false, got \"yes\""),
    ("unnamed_agent_by_position", '[[agent]]\nruntime = "codex"',
     "agent[3] → name: missing required key 'name'"),
    ("table_expected", '[[agent]]\nname = "c"\nenv = "x"', "agent 'c' → env: expected a table, got \"x\""),
    ("launch_mode", '[launch]\nmode = "yolo"', "launch → mode: must be 'safe', 'auto' or 'unattended', got \"yolo\""),
]


@pytest.mark.parametrize("extra,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_model_error_names_key_path(load_text, extra, expected):
    with pytest.raises(ConfigValidationError) as info:
        load_text(BASE + "\n" + extra + "\n")
    assert f"invalid config: {expected}" in info.value.message
    assert info.value.hint
    assert "\n" not in info.value.message


def test_top_level_table_of_wrong_type(load_text):
    with pytest.raises(ConfigValidationError) as info:
        load_text("budget = 5\n" + BASE)
    assert "invalid config: budget: expected a table, got 5" in info.value.message


def test_missing_workspace_table(load_text):
    with pytest.raises(ConfigValidationError) as info:
        load_text('[[agent]]\nname = "a"\n')
    assert "missing [workspace] table" in info.value.message and info.value.key_path == "workspace"


def test_toml_syntax_error_gives_line_and_column(load_text):
    with pytest.raises(ConfigValidationError) as info:
        load_text('[workspace]\nname = \n')
    assert info.value.key_path == "line 2, column 8"
    assert "failed to parse TOML" in info.value.message


def test_non_utf8_file(tmp_path):
    path = tmp_path / "tutti.toml"
    path.write_bytes(b'[workspace]\nname = "caf\xe9"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "not valid UTF-8" in info.value.message and "line 2" in info.value.message


def test_directory_instead_of_file(tmp_path):
    (tmp_path / "tutti.toml").mkdir()
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "tutti.toml")
    assert "is a directory" in info.value.message


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without permission")
def test_unreadable_file(tmp_path):
    path = tmp_path / "tutti.toml"
    path.write_text(BASE)
    path.chmod(0)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "permission denied" in info.value.message


def test_missing_file_hints_tt_init(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "tutti.toml")
    assert "file not found" in info.value.message and "tt init" in info.value.hint


def test_diagnose_reports_every_model_error(tmp_path):
    path = tmp_path / "tutti.toml"
    path.write_text(BASE + '[launch]\nmode = "x"\npolicy = "y"\n')
    report = diagnose_config(path)
    assert not report.ok
    assert [i.key_path for i in report.issues] == ["launch → mode", "launch → policy"]
    assert report.to_dict()["issues"][0]["key_path"] == "launch → mode"


def test_cli_renders_non_utf8_file_without_traceback(tt, tmp_path):
    (tmp_path / "tutti.toml").write_bytes(b"\xff\xfe[workspace]\n")
    result = tt("run", "--list", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error[config]: tutti.toml: is not valid UTF-8")
    assert "Traceback" not in result.stderr


def test_integers_are_accepted_where_numbers_are_expected(load_text):
    cfg = load_text(BASE + '[budget]\nwarn_threshold_pct = 80\n').config
    assert cfg.budget.warn_threshold_pct == 80.0


def test_strings_are_not_coerced_to_numbers_or_booleans(load_text):
    with pytest.raises(ConfigValidationError) as info:
        load_text(BASE + '[defaults]\nworktree = "false"\n')
    assert "defaults → worktree: expected true or false, got \"false\"" in info.value.message
