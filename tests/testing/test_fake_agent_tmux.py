"""The fake agent CLI in real tmux: it looks like the runtime it imitates, the same
classifiers read its states, prompts arrive intact, and scripted edits really happen."""

from __future__ import annotations

import subprocess

import pytest

LOOKS = ("claude", "codex", "gemini", "aider")


def write_script(path, body: str):
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize("look", LOOKS)
def test_fake_agent_starts_idle_in_every_look(fake_pane, look):
    fake_pane.start(look=look)
    detection = fake_pane.wait_state("idle")
    assert detection.evidence[0].startswith("idle:")


@pytest.mark.parametrize("look", ["claude", "codex"])
def test_pasted_prompt_makes_it_work_then_idle_with_the_answer(fake_pane, look):
    fake_pane.start("--work-secs", "2", look=look)
    fake_pane.wait_state("idle")
    fake_pane.send("Say hello")
    working = fake_pane.wait_state("working")
    assert any("interrupt" in e or "status" in e for e in working.evidence)
    fake_pane.wait_state("idle")
    assert "Done." in fake_pane.capture()
    assert [r["prompt"] for r in fake_pane.recorded()] == ["Say hello"]


def test_900_line_prompt_arrives_intact_as_one_prompt(fake_pane):
    fake_pane.start("--work-secs", "0.5")
    fake_pane.wait_state("idle")
    lines = [f"line {i}: 'quoted' \"double\" ; && | $(not run) `tick` ünïcode \\ back" for i in range(900)]
    lines[10] = ""  # blank lines survive too
    lines[11] = "    indented"
    prompt = "\n".join(lines)
    fake_pane.send(prompt)
    fake_pane.wait_for(lambda: fake_pane.recorded(), what="prompt recorded")
    fake_pane.wait_state("idle")
    records = fake_pane.recorded()
    assert len(records) == 1
    assert records[0]["prompt"] == prompt


def test_typed_text_and_enter_submit_a_prompt(fake_pane):
    fake_pane.start("--work-secs", "0.3")
    fake_pane.wait_state("idle")
    fake_pane.keys("-l", "typed prompt")
    fake_pane.keys("Enter")
    fake_pane.wait_for(lambda: fake_pane.recorded(), what="prompt recorded")
    assert fake_pane.recorded()[0]["prompt"] == "typed prompt"


FAILURES_SCRIPT = """
work_secs = 0.3
[[rule]]
match = "^auth"
fail = "auth"
[[rule]]
match = "^rate"
fail = "rate_limit"
[[rule]]
match = "^down"
fail = "provider_down"
[[rule]]
match = "^ask"
fail = "dialog"
reply = "Wrote it."
[[rule.write]]
path = "answer.txt"
content = "yes\\n"
"""


@pytest.mark.parametrize("look", LOOKS)
def test_each_failure_mode_is_classified(fake_pane, tmp_path, look):
    script = write_script(tmp_path / "s.toml", FAILURES_SCRIPT)
    fake_pane.start(look=look, script=script)
    fake_pane.wait_state("idle")
    for prompt, state in (("auth please", "auth_failed"), ("rate please", "rate_limited"),
                          ("down please", "provider_down")):
        fake_pane.send(prompt)
        detection = fake_pane.wait_state(state)
        assert detection.detail, "a failure names the error line"
    fake_pane.send("ask first")
    fake_pane.wait_state("waiting")
    fake_pane.keys("1")
    fake_pane.wait_state("idle")
    assert (fake_pane.cwd / "answer.txt").read_text() == "yes\n"


def test_declining_the_dialog_writes_nothing(fake_pane, tmp_path):
    script = write_script(tmp_path / "s.toml", FAILURES_SCRIPT)
    fake_pane.start(script=script)
    fake_pane.wait_state("idle")
    fake_pane.send("ask now")
    fake_pane.wait_state("waiting")
    fake_pane.keys("n")
    fake_pane.wait_state("idle")
    assert not (fake_pane.cwd / "answer.txt").exists()
    assert "rejected" in fake_pane.capture()


def test_scripted_edit_and_commit_happen_in_its_git_repo(fake_pane, tmp_path):
    repo = fake_pane.cwd
    for args in (["init", "-q", "-b", "main"], ["config", "commit.gpgsign", "false"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    script = write_script(tmp_path / "s.toml", """
[[rule]]
match = "create (\\\\S+)"
work_secs = 0.5
reply = "Created {1}."
commit = "add {1}"
[[rule.write]]
path = "{1}"
content = "hello from prompt {n}\\n"
""")
    fake_pane.start(script=script)
    fake_pane.wait_state("idle")
    fake_pane.send("please create notes.txt now")
    fake_pane.wait_for(lambda: "Created notes.txt." in fake_pane.capture(), what="reply")
    assert (repo / "notes.txt").read_text() == "hello from prompt 1\n"
    log = subprocess.run(["git", "log", "--format=%s", "-1"], cwd=repo, capture_output=True, text=True,
                         check=True).stdout
    assert log.strip() == "add notes.txt"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True,
                            check=True).stdout
    assert status == ""


def test_crash_exits_non_zero(fake_pane, tmp_path):
    script = write_script(tmp_path / "s.toml", """
[[rule]]
match = "."
work_secs = 0.5
fail = "crash"
exit_code = 3
""")
    # The exit status is written by a wrapping shell: tmux's #{pane_dead_status} is sometimes
    # left empty when the pty closes before the child is reaped (tmux 3.3a).
    status_file = tmp_path / "status"
    fake_pane.start(script=script, wrap_exit_status=status_file)
    fake_pane.wait_state("idle")
    fake_pane.send("go")
    fake_pane.wait_for(lambda: status_file.exists() and status_file.read_text().strip(), what="the agent to exit")
    assert status_file.read_text().strip() == "3"
    assert "crashed" in fake_pane.capture()


def test_initial_prompt_flag_is_submitted_at_start(fake_pane):
    fake_pane.start("--work-secs", "0.2", "--prompt", "first task")
    fake_pane.wait_for(lambda: fake_pane.recorded(), what="initial prompt")
    assert fake_pane.recorded()[0]["prompt"] == "first task"
    fake_pane.wait_state("idle")


def test_idle_agent_redraws_when_the_window_is_resized(fake_pane):
    fake_pane.start()
    fake_pane.wait_state("idle")
    assert "─" * 200 in fake_pane.capture()
    fake_pane.tmux("resize-window", "-t", fake_pane.session, "-x", "120", "-y", "40")
    fake_pane.wait_for(lambda: "─" * 120 + "\n" in fake_pane.capture(), what="redraw at 120 columns")
    fake_pane.wait_state("idle")
