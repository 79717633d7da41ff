"""The shared shape of a CLI runtime adapter: launch modes, prompt passing, classification.

A concrete adapter (claude_code.py, codex.py, …) is mostly data — its binary, how it takes
an initial prompt, its screen classifier — plus the one or two launch details that differ:
the bypass flag and how the constrained policy is enforced (inventory §5.4, §9.4).
"""

from __future__ import annotations

import os
import shlex

from tutti.errors import ConfigError, PolicyError
from tutti.runtimes.base import Detection, LaunchContext, LaunchSpec
from tutti.runtimes.classifier import Classifier

MODES = ("safe", "auto", "unattended")
POLICIES = ("constrained", "bypass")
BYPASS_WARNING = "launch policy is bypass; commands may run without permission prompts"


def missing_rules_error(agent: str) -> PolicyError:
    from tutti.paths import global_config_path

    return PolicyError(
        f"{agent}: launch mode requires [permissions] allow rules in {global_config_path()} for "
        "constrained non-interactive runs",
        hint="Configure [permissions], or run `tt up --mode safe`, or run "
             "`tt up --mode unattended --policy bypass`",
    )


class CliAdapter:
    """Base for adapters of interactive coding-agent CLIs."""

    name: str = ""
    default_command: str = ""
    classifier: Classifier
    prompt_style: str = "positional"  # positional | flag | none
    prompt_flag: str | None = None
    submit_delay: float = 0.15
    policy_label: str = ""  # name used in the policy appendix ("Codex", "Aider", …)

    # -- launch ------------------------------------------------------------------------------
    def command_argv(self, ctx: LaunchContext) -> list[str]:
        """The binary (and fixed args) to run; a profile/runtime `command` overrides it.

        The override is a configured string from the user's own config, split like a shell
        would (quotes respected) but never run through a shell.
        """
        if ctx.command:
            try:
                argv = shlex.split(ctx.command)
            except ValueError as exc:
                raise ConfigError(f"runtime command for agent '{ctx.agent}' is not parseable: {exc}",
                                  hint="fix the quoting of the profile or [[runtime]] command") from exc
            if argv:
                return argv
        return [self.default_command]

    def prompt_args(self, prompt: str | None) -> list[str]:
        if not prompt:
            return []
        if self.prompt_style == "flag" and self.prompt_flag:
            return [self.prompt_flag, prompt]
        if self.prompt_style == "none":
            return []
        return [prompt]

    def build_launch(self, ctx: LaunchContext) -> LaunchSpec:
        if ctx.mode not in MODES:
            raise ConfigError(f"unknown launch mode '{ctx.mode}' for agent '{ctx.agent}'",
                              hint=f"use one of: {', '.join(MODES)}")
        if ctx.policy not in POLICIES:
            raise ConfigError(f"unknown launch policy '{ctx.policy}' for agent '{ctx.agent}'",
                              hint=f"use one of: {', '.join(POLICIES)}")
        spec = LaunchSpec(argv=self.command_argv(ctx), env=dict(ctx.env))
        prompt = ctx.prompt
        if ctx.mode == "safe":
            spec.enforcement = "prompt"  # the runtime's own interactive approvals
        elif ctx.mode == "unattended" and ctx.policy == "bypass":
            spec.argv += self.bypass_args()
            spec.enforcement = "bypass"
            spec.notes.append(BYPASS_WARNING)
        else:  # auto is always constrained; unattended + constrained
            if not ctx.allow_rules:
                raise missing_rules_error(ctx.agent)
            prompt = self.constrained(ctx, spec, list(ctx.allow_rules))
        spec.argv += self.prompt_args(prompt)
        return spec

    def bypass_args(self) -> list[str]:
        """Flags that switch off the runtime's own approvals (none: runs plain)."""
        return []

    def constrained(self, ctx: LaunchContext, spec: LaunchSpec, rules: list[str]) -> str | None:
        """Default constrained enforcement: shell-policy shims first on PATH plus the policy
        appendix in the prompt. Returns the (possibly extended) initial prompt."""
        from tutti.policy.permissions import policy_appendix, shell_rules
        from tutti.policy.shim import write_shims

        shell = shell_rules(rules, runtime=self.name)
        if not shell:
            raise PolicyError(
                f"{ctx.agent} constrained launch requires shell command allow rules in [permissions].allow",
                hint="add shell rules such as \"git status\" or \"cargo test *\" to [permissions].allow",
            )
        shim_dir = write_shims(ctx.state_dir, ctx.agent, shell)
        base_path = ctx.env.get("PATH") or os.environ.get("PATH", "")
        spec.env["PATH"] = f"{shim_dir}{os.pathsep}{base_path}" if base_path else str(shim_dir)
        # Tools that start "$SHELL -c CMD" (rather than a bare `sh` looked up on PATH) go
        # through the shim too.
        for name in ("bash", "sh"):
            if (shim_dir / name).exists():
                spec.env["SHELL"] = str(shim_dir / name)
                break
        spec.enforcement = "hard_shim"
        spec.notes.append(f"shell policy shims in {shim_dir}")
        appendix = policy_appendix(self.policy_label or self.name, shell)
        return f"{ctx.prompt}\n\n{appendix}" if ctx.prompt else appendix

    # -- screen --------------------------------------------------------------------------------
    def classify(self, screen: str) -> Detection:
        return self.classifier.classify(screen)

    def submit_delay_secs(self) -> float:
        return self.submit_delay
