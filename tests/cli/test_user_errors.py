"""What a new user hits with bad input: one-line `error[category]` + hint, the right exit code,
never a Python traceback, and `--json` output that is valid JSON on stdout."""

from __future__ import annotations

from pathlib import Path

import pytest

AGENT = '[[agent]]\nname = "a"\nruntime = "fake"\n'


def _no_traceback(result) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_tutti_toml_saved_with_a_utf8_bom_loads(git_repo: Path, tt) -> None:
    (git_repo / "tutti.toml").write_bytes(b'\xef\xbb\xbf[workspace]\nname = "bom"\n' + AGENT.encode())
    result = tt("status", "--json", cwd=git_repo)
    _no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert '"a"' in result.stdout


def test_empty_tutti_toml_says_how_to_start_the_workspace_table(git_repo: Path, tt) -> None:
    (git_repo / "tutti.toml").write_text("")
    result = tt("status", cwd=git_repo)
    _no_traceback(result)
    assert result.returncode == 2
    assert "error[config]: tutti.toml" in result.stderr and "missing [workspace] table" in result.stderr
    assert "[workspace]" in result.stderr.split("hint:")[1]


@pytest.mark.parametrize("command", [["run", "long"], ["verify", "--workflow", "long"]])
def test_ctrl_c_cancels_a_run_cleanly_and_kills_its_command(git_repo: Path, command: list[str]) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.workflows.helpers import alive

    from tutti.ops.run import list_runs
    from tutti.workspace import load_workspace_at

    (git_repo / "tutti.toml").write_text('[workspace]\nname = "t"\n[[workflow]]\nname = "long"\n'
                                         '[[workflow.step]]\ntype = "command"\nrun = "sleep 120 & echo $! > child.pid; wait"\n')
    # its own process group, like a terminal's foreground job: Ctrl-C reaches the whole group
    proc = subprocess.Popen([sys.executable, "-m", "tutti", *command], cwd=git_repo, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    pid_file = git_repo / "child.pid"
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert time.monotonic() < deadline, "step never started"
        time.sleep(0.05)
    child = int(pid_file.read_text())
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err and "KeyError" not in err
    assert proc.returncode == 1
    assert "cancelling run (Ctrl-C)" in err and "workflow 'long' was cancelled" in err
    assert list_runs(load_workspace_at(git_repo))[0]["status"] == "cancelled"
    deadline = time.monotonic() + 20
    while alive(child):
        assert time.monotonic() < deadline, "the step's command survived Ctrl-C"
        time.sleep(0.05)


def test_a_failed_command_step_shows_the_last_lines_of_its_output(git_repo: Path, tt) -> None:
    (git_repo / "tutti.toml").write_text(
        '[workspace]\nname = "t"\n[[workflow]]\nname = "verify"\n[[workflow.step]]\nid = "tests"\n'
        'type = "command"\nrun = "echo collecting; echo \'No module named pytest\' >&2; exit 1"\n')
    result = tt("run", "verify", "--strict", cwd=git_repo)
    _no_traceback(result)
    assert result.returncode == 1
    assert "| No module named pytest" in result.stderr
    assert result.stderr.rstrip().splitlines()[-2].startswith("error[workflow]: workflow 'verify' failed")


def test_running_a_workflow_when_none_is_declared_says_how_to_add_one(git_repo: Path, tt) -> None:
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "w"\n' + AGENT)
    result = tt("run", "verify", "--strict", cwd=git_repo)
    _no_traceback(result)
    assert result.returncode == 1
    assert result.stderr.startswith("error[not_found]: workflow 'verify' not found:")
    assert "declares no workflows" in result.stderr and '[[workflow]] name = "verify"' in result.stderr


def test_a_wait_blocked_on_a_dialog_hints_a_send_command_that_parses() -> None:
    from tutti.cli.agents_cmd import send as send_cmd
    from tutti.errors import SessionError
    from tutti.ops.send import _fail
    from tutti.runtimes.settle import SettleResult

    with pytest.raises(SessionError) as info:
        _fail("api", SettleResult(outcome="waiting", state="waiting", evidence=["waiting:dialog"]), 30)
    suggested = info.value.hint.split("`tt send ")[1].split("`")[0].replace("ANSWER", "1").split()
    # the suggested argv parses (--answer is a flag; the answer is the prompt), up to needing a workspace
    parsed = send_cmd.make_context("send", suggested)
    assert parsed.params["answer"] is True and parsed.params["prompt"] == ("1",)


def test_attach_without_a_terminal_is_a_usage_error_not_a_tmux_message(git_repo: Path, tt, tmux_socket) -> None:
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "w"\n' + AGENT)
    up = tt("up", "a", cwd=git_repo, timeout=120)
    assert up.returncode == 0, up.stderr
    try:
        result = tt("attach", "a", cwd=git_repo, timeout=60)  # stdout is a pipe here
        _no_traceback(result)
        assert result.returncode == 2
        assert result.stderr.startswith("error[usage]: `tt attach` needs an interactive terminal")
        assert "tt peek a" in result.stderr
    finally:
        tt("down", cwd=git_repo, timeout=120)


def test_peek_rejects_a_negative_line_count(git_repo: Path, tt) -> None:
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "w"\n' + AGENT)
    result = tt("peek", "a", "-l", "-3", cwd=git_repo)
    assert result.returncode == 2 and "-3 is not in the range x>=0" in result.stderr


def test_doctor_on_a_fresh_config_says_the_auto_mode_is_the_default_and_where_rules_go(git_repo: Path,
                                                                                      tutti_home: Path) -> None:
    from tutti.ops.doctor import run_doctor

    (git_repo / "tutti.toml").write_text('[workspace]\nname = "w"\n[[agent]]\nname = "a"\nruntime = "claude-code"\n')
    check = next(c for c in run_doctor(git_repo).checks if c.check == "launch policy")
    assert check.status == "fail"
    assert '[launch] mode = "auto" (the default)' in check.detail
    assert str(tutti_home / "config.toml") in check.detail
    assert "tt permissions suggest WORKFLOW" in check.fix


def test_init_from_a_custom_template_without_description_prints_no_dangling_dash(git_repo: Path, tt) -> None:
    (git_repo / "t.toml").write_text('[template]\nname = "ok"\nversion = "1"\n# ── config below ──\n'
                                     '[workspace]\nname = "{{project_name}}"\n')
    result = tt("init", "-t", "./t.toml", cwd=git_repo)
    assert result.returncode == 0, result.stderr
    assert "Created tutti.toml from template 'ok' 1\n" in result.stdout


def test_a_corrupt_workspace_store_is_a_store_error_with_the_fix(git_repo: Path, tt) -> None:
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "w"\n' + AGENT + '[[workflow]]\nname = "v"\n'
                                         '[[workflow.step]]\ntype = "command"\nrun = "true"\n')
    (git_repo / ".tutti").mkdir()
    (git_repo / ".tutti" / "tutti.db").write_text("this is not sqlite\n")
    for args in (["runs", "list"], ["run", "v"]):
        result = tt(*args, cwd=git_repo)
        _no_traceback(result)
        assert result.returncode == 1
        assert result.stderr.startswith("error[store]: cannot use store ") and "file is not a database" in result.stderr
        assert "mv " in result.stderr


def test_tutti_home_below_a_file_only_warns_that_init_could_not_register(git_repo: Path, tt,
                                                                          tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = tt("init", cwd=git_repo, env={"TUTTI_HOME": str(blocker / "home")})
    _no_traceback(result)
    assert result.returncode == 0 and (git_repo / "tutti.toml").is_file()
    assert (f"warning: workspace not registered in the global config: cannot write the global config "
            f"directory {blocker / 'home'}") in result.stderr


def test_dot_tutti_being_a_file_is_one_line_naming_the_path(git_repo: Path, tt) -> None:
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "w"\n' + AGENT + '[[workflow]]\nname = "v"\n'
                                         '[[workflow.step]]\ntype = "command"\nrun = "true"\n')
    (git_repo / ".tutti").write_text("")
    for args in (["status"], ["run", "v"], ["up"]):
        result = tt(*args, cwd=git_repo)
        _no_traceback(result)
        assert result.returncode == 1, args
        assert result.stderr.startswith("error[tool]: ") and str(git_repo / ".tutti") in result.stderr, args
    debug = tt("run", "v", cwd=git_repo, env={"TUTTI_DEBUG": "1"})
    assert "Traceback" in debug.stderr


def test_logs_line_count_zero_prints_nothing_and_negative_is_refused(git_repo: Path, tt) -> None:
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "w"\n' + AGENT)
    (git_repo / ".tutti" / "logs").mkdir(parents=True)
    (git_repo / ".tutti" / "logs" / "a.log").write_text("one\ntwo\nthree\n")
    assert tt("logs", "a", "-l", "2", cwd=git_repo).stdout == "two\nthree\n"
    zero = tt("logs", "a", "-l", "0", cwd=git_repo)
    assert zero.returncode == 0 and zero.stdout == ""
    negative = tt("logs", "a", "-l", "-1", cwd=git_repo)
    assert negative.returncode == 2 and "-1 is not in the range x>=0" in negative.stderr


def test_run_table_names_a_step_without_id_by_its_key(git_repo: Path, tt) -> None:
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "w"\n[[workflow]]\nname = "v"\n'
                                         '[[workflow.step]]\ntype = "command"\nrun = "true"\n')
    result = tt("run", "v", cwd=git_repo)
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("1 "))
    assert row.split()[1] == "001-command"


def test_up_all_with_an_agent_no_workspace_has_fails(git_repo: Path, tt) -> None:
    assert tt("init", cwd=git_repo).returncode == 0  # registers workspace 'repo'
    result = tt("up", "--all", "nosuchagent", cwd=git_repo)
    _no_traceback(result)
    assert result.returncode == 1
    assert "warning: repo: agent 'nosuchagent' not found" in result.stderr
    assert "error[not_found]: agent 'nosuchagent' not found" in result.stderr


def test_a_mistyped_command_suggests_the_right_one(tmp_path: Path, tt) -> None:
    result = tt("stauts", cwd=tmp_path)
    assert result.returncode == 2
    assert "No such command 'stauts'. Did you mean 'status'?" in result.stderr
    assert "Did you mean" not in tt("zzzz", cwd=tmp_path).stderr
