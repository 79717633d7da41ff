"""The `fake` runtime: Tutti's own fake agent CLI (`python -m tutti.testing.fake_agent`).

It renders the screens of a real runtime ("look": claude by default, or codex / gemini /
aider), so it is classified with that runtime's classifier — the same code that reads the
real CLI. Used by tests and by users rehearsing a workflow without spending tokens.
"""

from __future__ import annotations

import os
import re
import sys

from tutti.errors import ConfigError
from tutti.runtimes.adapter import BYPASS_WARNING, MODES, POLICIES
from tutti.runtimes.base import Detection, LaunchContext, LaunchSpec

LOOKS = ("claude", "codex", "gemini", "aider")
LOOK_ENV = "TUTTI_FAKE_LOOK"
STATE_FILE_ENV = "TUTTI_FAKE_STATE_FILE"  # [agent.env] TUTTI_FAKE_STATE_FILE = "1"


def state_dir(workspace_state_dir, agent: str):
    """Where a fake agent with a state file writes it (read back by runtimes.signals)."""
    return workspace_state_dir / "fake-agent" / agent / "sessions"
_MARK = re.compile(r"\bfake:(claude|codex|gemini|aider)\b")


def look_classifier(look: str):
    if look == "codex":
        from tutti.runtimes.codex import CLASSIFIER
    elif look == "gemini":
        from tutti.runtimes.gemini_cli import CLASSIFIER
    elif look == "aider":
        from tutti.runtimes.aider import CLASSIFIER
    else:
        from tutti.runtimes.claude_code import CLASSIFIER
    return CLASSIFIER


class FakeAdapter:
    name = "fake"
    default_command = "tutti.testing.fake_agent"

    def __init__(self, look: str | None = None) -> None:
        self.chosen_look = look or os.environ.get(LOOK_ENV)  # None: the script's `look`, else claude
        look = self.chosen_look or "claude"
        if look not in LOOKS:
            raise ConfigError(f"unknown fake agent look '{look}'", hint=f"use one of: {', '.join(LOOKS)}")
        self.look = look
        self.classifier = look_classifier(look)

    def build_launch(self, ctx: LaunchContext) -> LaunchSpec:
        if ctx.mode not in MODES or ctx.policy not in POLICIES:
            raise ConfigError(f"unknown launch mode/policy '{ctx.mode}/{ctx.policy}' for agent '{ctx.agent}'",
                              hint=f"modes: {', '.join(MODES)}; policies: {', '.join(POLICIES)}")
        look = ctx.env.get(LOOK_ENV) or self.chosen_look
        argv = [sys.executable, "-m", "tutti.testing.fake_agent"] + (["--look", look] if look else [])
        spec = LaunchSpec(argv=argv, env=dict(ctx.env))
        if ctx.env.get(STATE_FILE_ENV):  # opt-in: a Claude-style state file (structured turn signal)
            spec.env["TUTTI_FAKE_STATE_DIR"] = str(state_dir(ctx.state_dir, ctx.agent))
        if ctx.mode == "unattended" and ctx.policy == "bypass":
            argv += ["--permission-mode", "bypass"]
            spec.enforcement = "bypass"
            spec.notes.append(BYPASS_WARNING)
        elif ctx.mode == "safe":
            spec.enforcement = "prompt"
        else:
            spec.enforcement = "none"  # the fake agent runs no commands, so there is nothing to enforce
        if ctx.prompt:
            argv += ["--prompt", ctx.prompt]
        return spec

    def classify(self, screen: str) -> Detection:
        """Classify with the classifier of the look on screen (its chrome carries a
        `fake:<look>` marker), else of the configured look."""
        found = _MARK.findall(screen)
        classifier = look_classifier(found[-1]) if found else self.classifier
        return classifier.classify(screen)

    def submit_delay_secs(self) -> float:
        return 0.1
