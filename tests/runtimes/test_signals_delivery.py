"""Acknowledged prompt delivery: a turn must visibly start; a swallowed Enter is retried once,
only while the prompt still sits in the input box; dialogs are never answered."""

from __future__ import annotations

from shared_fixtures import FIXTURES
from tutti.runtimes.registry import get_adapter
from tutti.runtimes.signals.delivery import confirm_turn_started, prompt_pending

SCREENS = FIXTURES / "screens" / "real"
PROMPT = "Create hello.txt with a greeting, then say DONE"


def screen(name: str) -> str:
    return (SCREENS / f"{name}.txt").read_text()


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, secs: float) -> None:
        self.t += secs


def run(screens, *, runtime="claude-code", probe=None, **kw):
    """Play a sequence of real screens (the last one repeats) through confirm_turn_started."""
    clock, enters, seq = Clock(), [], list(screens)
    adapter = get_adapter(runtime)

    def capture() -> str:
        return seq.pop(0) if len(seq) > 1 else seq[0]

    res = confirm_turn_started(prompt=PROMPT, capture=capture, classify=adapter.classify,
                               press_enter=lambda: enters.append(clock.t), probe=probe,
                               sleep=clock.sleep, clock=clock.now, **kw)
    return res, enters


def test_prompt_typed_but_not_submitted_is_pending():
    assert prompt_pending(screen("claude_prompt_typed"), PROMPT)
    assert not prompt_pending(screen("claude_working"), PROMPT)
    assert not prompt_pending(screen("claude_idle_after_answer"), PROMPT)


def test_working_screen_acknowledges_without_extra_enters():
    res, enters = run([screen("claude_working")])
    assert res.acknowledged and res.via == "screen:working" and enters == []


def test_swallowed_enter_is_pressed_again_exactly_once():
    # The prompt stays in the box for 5 s (Enter lost), then the runtime starts working.
    typed = [screen("claude_prompt_typed")] * 25
    res, enters = run([*typed, screen("claude_working")], retry_after_secs=3.0)
    assert res.acknowledged and res.extra_enters == 1 and len(enters) == 1


def test_a_prompt_that_never_leaves_the_box_gets_at_most_one_extra_enter():
    res, enters = run([screen("claude_prompt_typed")], timeout_secs=20.0, retry_after_secs=2.0)
    assert not res.acknowledged and len(enters) == 1


def test_prompt_gone_from_the_box_after_a_turn_too_fast_to_see_counts_as_delivered():
    res, enters = run([screen("claude_idle_after_answer")], baseline_screen=screen("claude_prompt_typed"))
    assert res.acknowledged and res.via == "screen:prompt_consumed" and enters == []


def test_prompt_echoed_in_the_transcript_counts_as_delivered_even_if_the_paste_was_never_seen():
    # Aider renders a paste late: the baseline shows an empty box, the next look a finished turn.
    res, enters = run([screen("aider_idle_after_answer")], runtime="aider", baseline_screen=screen("aider_startup_idle"))
    assert res.acknowledged and res.via == "screen:prompt_consumed" and enters == []


def test_no_enter_is_ever_pressed_into_a_dialog():
    res, enters = run([screen("claude_permission_dialog")], baseline_screen=screen("claude_permission_dialog"),
                      timeout_secs=10.0)
    assert not res.acknowledged and enters == []


def test_prompt_that_opened_a_dialog_counts_as_delivered():
    res, enters = run([screen("claude_permission_dialog")], baseline_screen=screen("claude_prompt_typed"))
    assert res.acknowledged and res.via == "screen:waiting" and enters == []


def test_empty_box_with_nothing_happening_never_presses_enter():
    res, enters = run([screen("claude_startup_idle")], timeout_secs=10.0)
    assert not res.acknowledged and enters == []


def test_failure_after_submit_is_delivered_with_that_state():
    res, _ = run([screen("codex_auth_failed")], runtime="codex")
    assert res.acknowledged and res.state == "auth_failed"


def test_rollout_task_started_acknowledges_even_when_the_screen_still_looks_idle(tmp_path):
    import json

    from tutti.runtimes.signals import SignalSources
    from tutti.runtimes.signals.delivery import TurnProbe

    lines = (FIXTURES / "logs/codex_rollout_sample.jsonl").read_text().splitlines()
    meta = json.loads(lines[0])
    meta["payload"]["cwd"] = str(tmp_path)
    day = tmp_path / "codex" / "sessions" / "2026" / "11" / "24"
    day.mkdir(parents=True)
    rollout = day / "rollout-x.jsonl"
    rollout.write_text("\n".join([json.dumps(meta), *lines[1:]]) + "\n")
    probe = TurnProbe(SignalSources(runtime="codex", workdir=tmp_path, codex_home=tmp_path / "codex"), lambda: None)
    calls = []

    def capture() -> str:
        calls.append(1)
        if len(calls) == 3:  # Codex logs the new turn; its screen has not redrawn yet
            with rollout.open("a") as fh:
                fh.write(json.dumps({"type": "event_msg", "payload": {"type": "task_started", "turn_id": "t2"}}) + "\n")
        return screen("codex_startup_idle")

    clock, enters = Clock(), []
    res = confirm_turn_started(prompt=PROMPT, capture=capture, classify=get_adapter("codex").classify,
                               press_enter=lambda: enters.append(1), probe=probe, sleep=clock.sleep, clock=clock.now)
    assert res.acknowledged and res.via == "rollout:task_started" and res.state == "working" and enters == []
