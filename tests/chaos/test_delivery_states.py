"""What a resumed prompt step does for each delivery record (workflows/steps/delivery.py), with
a real store; screens are plain text as tmux captures them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tutti.workflows.steps.delivery import resolve

IDLE = "╭──────╮\n│ >    │\n╰──────╯\n"
PASTED = "╭──────╮\n│ > [Pasted text #1 +3 lines] │\n╰──────╯\n"
ANSWERED = "> Implement it\n● Done.\n╭──────╮\n│ >    │\n╰──────╯\n"


@pytest.fixture
def ctx(git_repo):
    from tutti.workspace import load_workspace_at

    (git_repo / "tutti.toml").write_text('[workspace]\nname = "d"\n')
    return SimpleNamespace(workspace=load_workspace_at(git_repo), run_id="run-1")


@pytest.mark.parametrize(("entry", "screen", "action"), [
    (None, IDLE, "send"),                                                   # nothing recorded: send once
    ({"state": "sending", "at": "2026", "before": IDLE}, IDLE, "send"),     # crashed before the paste
    ({"state": "sending", "at": "2026", "before": IDLE}, PASTED, "submit"),  # paste sits unsent: press Enter
    ({"state": "pasted", "at": "2026", "baseline": PASTED}, PASTED, "submit"),
    ({"state": "pasted", "at": "2026", "baseline": PASTED}, ANSWERED, "reattach"),  # Enter went in
    ({"state": "delivered", "at": "2026", "baseline": PASTED}, ANSWERED, "reattach"),
    ({"state": "delivered", "at": "2026", "baseline": PASTED}, PASTED, "reattach"),  # never re-sent
])
def test_resolution(ctx, entry, screen, action):
    assert resolve(ctx, "a", entry, screen, running=True).action == action


def test_a_recorded_prompt_sent_event_means_delivered_whatever_the_record_says(ctx):
    ctx.workspace.store.append_event("agent.prompt_sent", agent="a", run_id="run-1", data={})
    entry = {"state": "pasted", "at": "2000-01-01T00:00:00.000Z", "baseline": PASTED}
    assert resolve(ctx, "a", entry, PASTED, running=True).action == "reattach"


def test_an_unsubmitted_prompt_whose_session_is_gone_is_sent_again(ctx):
    entry = {"state": "pasted", "at": "2026", "baseline": PASTED}
    assert resolve(ctx, "a", entry, None, running=False).action == "send"
