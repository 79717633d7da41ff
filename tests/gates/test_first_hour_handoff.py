"""Issue #11: a handoff packet's "Active Task Guess" is the last prompt the agent was given, not
the screen's footer line. Real tmux, the shipped fake agent."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_active_task_guess_is_the_last_prompt(agent_pipeline, tt):
    root = agent_pipeline({"api": {}})
    assert tt("up", "api", cwd=root, timeout=120).returncode == 0
    time.sleep(1.0)
    sent = tt("send", "api", "Add pagination to the /users endpoint", "--wait", cwd=root, timeout=120)
    assert sent.returncode == 0, sent.stderr
    res = tt("handoff", "generate", "api", "--json", cwd=root)
    assert res.returncode == 0, res.stderr
    text = Path(json.loads(res.stdout)["packet"]).read_text()
    task = text.split("## Active Task Guess\n", 1)[1].split("\n\n## ", 1)[0]
    assert task == "Add pagination to the /users endpoint"
