"""A runtime declared in tutti.toml (`[[runtime]]`): command, prompt passing and regexes.

The user's regexes are compiled once, here, so a bad one is a config error naming the
runtime and key instead of a crash at detection time. Working / idle / waiting patterns
look at the bottom of the screen (where CLIs draw spinners, prompts and dialogs); failure
patterns look at the bottom 12 lines so an old error that scrolled up is history. A state
with no user patterns for a failure falls back to the shared anchored error-line patterns.
"""

from __future__ import annotations

import re

from tutti.errors import ConfigError
from tutti.runtimes.adapter import CliAdapter
from tutti.runtimes.base import AgentState
from tutti.runtimes.classifier import Classifier, Rule, context_used_pct
from tutti.runtimes.patterns import GENERIC_AUTH, GENERIC_DOWN, GENERIC_RATE

FAILURE_DEFAULTS = {
    "auth_failed": GENERIC_AUTH,
    "rate_limited": GENERIC_RATE,
    "provider_down": GENERIC_DOWN,
}
KEYS = ("auth_failed", "rate_limited", "provider_down", "waiting", "working", "idle")


def build_classifier(rt) -> Classifier:
    rules: list[Rule] = []
    for key in KEYS:
        patterns = list(getattr(rt, key, None) or [])
        if not patterns and key in FAILURE_DEFAULTS:
            patterns = list(FAILURE_DEFAULTS[key])
        where = "bottom"
        for i, pat in enumerate(patterns):
            try:
                rules.append(Rule(AgentState(key), pat, where))
            except re.error as exc:
                raise ConfigError(
                    f"tutti.toml: [[runtime]] '{rt.name}' {key}[{i}] is not a valid regex: {exc}",
                    hint=f"fix the pattern {pat!r} (Python `re` syntax; escape literal brackets)",
                ) from exc
    return Classifier(rules=rules, bottom_lines=12, context_pct=context_used_pct)


class CustomAdapter(CliAdapter):
    def __init__(self, rt) -> None:
        self.runtime = rt
        self.name = rt.name
        self.default_command = rt.command
        self.classifier = build_classifier(rt)
        self.prompt_style = rt.prompt
        self.prompt_flag = rt.prompt_flag
        if rt.prompt == "flag" and not rt.prompt_flag:
            raise ConfigError(
                f"tutti.toml: [[runtime]] '{rt.name}' has prompt = \"flag\" but no prompt_flag",
                hint='set prompt_flag = "--message" (or whatever flag the CLI takes) or prompt = "positional"',
            )
        self.submit_delay = max(0, rt.submit_delay_ms) / 1000.0
        self.policy_label = rt.name

    def command_argv(self, ctx):
        import shlex

        base = shlex.split(ctx.command) if ctx.command else shlex.split(self.default_command)
        if not base:
            raise ConfigError(f"tutti.toml: [[runtime]] '{self.name}' command is empty",
                              hint="set command = \"the-cli-binary\"")
        return base + list(self.runtime.args)
