"""The fake agent's input handling and script, without a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutti.errors import ConfigError
from tutti.testing.fake_agent import Agent, InputParser
from tutti.testing.fake_script import Script, load_script, parse_script


def make_agent(tmp_path: Path) -> Agent:
    return Agent(look_name="claude", script=Script(work_secs=60), cwd=tmp_path, record=tmp_path / "r.jsonl")


def test_bracketed_paste_split_across_reads_is_one_prompt(tmp_path):
    agent = make_agent(tmp_path)
    parser = InputParser(agent)
    data = "\x1b[200~first\rsecond ü\r\rthird\x1b[201~\r".encode()
    for i in range(0, len(data), 3):  # worst case: markers and UTF-8 split mid-sequence
        parser.feed(data[i:i + 3])
    assert agent.job is not None
    assert agent.job.prompt == "first\nsecond ü\n\nthird"


def test_enter_inside_a_paste_does_not_submit(tmp_path):
    agent = make_agent(tmp_path)
    InputParser(agent).feed(b"\x1b[200~a\rb")
    assert agent.job is None
    assert agent.input == ""  # still inside the paste


def test_prompt_while_working_is_queued(tmp_path):
    agent = make_agent(tmp_path)
    parser = InputParser(agent)
    parser.feed(b"one\r")
    parser.feed(b"two\r")
    assert agent.job.prompt == "one"
    assert agent.queue == ["two"]


def test_arrow_keys_and_focus_events_are_ignored(tmp_path):
    agent = make_agent(tmp_path)
    InputParser(agent).feed(b"\x1b[A\x1b[Ihi\x1b[D")
    assert agent.input == "hi"


def test_script_substitutes_groups_prompt_and_number():
    script = parse_script({"rule": [{"match": r"make (\w+)", "reply": "made {1} for #{n}",
                                     "write": [{"path": "{1}.txt", "content": "{prompt}"}]}]})
    act = script.action_for("please make cake", 4)
    assert act.reply == "made cake for #4"
    assert act.writes[0].path == "cake.txt" and act.writes[0].content == "please make cake"


def test_once_rule_is_used_only_once():
    script = parse_script({"rule": [{"match": ".", "fail": "auth", "once": True}]})
    assert script.action_for("x", 1).fail == "auth"
    assert script.action_for("x", 2).fail is None


@pytest.mark.parametrize("data,needle", [
    ({"rule": [{"match": "(", "reply": "x"}]}, "rule[0].match is not a valid regex"),
    ({"rule": [{"match": "x", "fail": "explode"}]}, "rule[0].fail = 'explode'"),
    ({"work_secs": -1}, "work_secs must be a non-negative number"),
    ({"rule": [{"match": "x", "write": [{"content": "no path"}]}]}, "rule[0].write[0] needs a path"),
])
def test_bad_script_is_a_config_error_naming_the_key(data, needle):
    with pytest.raises(ConfigError) as exc:
        parse_script(data, "s.toml")
    assert needle in exc.value.message and exc.value.message.startswith("s.toml")


def test_unparsable_script_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("rule = [[[")
    with pytest.raises(ConfigError) as exc:
        load_script(bad)
    assert str(bad) in exc.value.message


def test_writes_outside_the_working_directory_are_refused(tmp_path):
    agent = make_agent(tmp_path / "inner")
    (tmp_path / "inner").mkdir()
    script = parse_script({"rule": [{"match": ".", "write": [{"path": "../escape.txt", "content": "x"}]}]})
    problems = agent._apply(script.action_for("go", 1))
    assert problems and "outside" in problems[0]
    assert not (tmp_path / "escape.txt").exists()


def test_esc_interrupts_work_and_runs_the_next_queued_prompt(tmp_path):
    agent = make_agent(tmp_path)
    parser = InputParser(agent)
    parser.feed(b"one\rtwo\r")
    parser.feed(b"\x1b")
    parser.flush_lone_escape()  # a lone ESC with nothing after it is the Esc key
    assert "  ⎿  Interrupted by user" in agent.transcript
    assert agent.job is not None and agent.job.prompt == "two"


def test_every_look_carries_its_marker_for_the_fake_adapter(tmp_path):
    from tutti.runtimes.fake import FakeAdapter

    for look in ("claude", "codex", "gemini", "aider"):
        agent = Agent(look_name=look, script=Script(), cwd=tmp_path)
        screen = "\n".join(agent.screen(120, 40))
        assert f"fake:{look}" in screen
        assert FakeAdapter("claude").classify(screen).state.value == "idle", look
