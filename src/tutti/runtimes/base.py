"""What every runtime adapter provides, and the states an agent can be in.

An adapter is data plus small code: how to launch the CLI, how to read its screen (and,
where the runtime offers one, a structured signal such as Claude Code's session file or
Codex's rollout log), and how to submit a prompt. `sessions/` drives tmux; adapters never
touch tmux themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol


class AgentState(StrEnum):
    WORKING = "working"
    IDLE = "idle"
    WAITING = "waiting"  # blocked on a dialog, approval or question: needs a human answer
    AUTH_FAILED = "auth_failed"
    RATE_LIMITED = "rate_limited"
    PROVIDER_DOWN = "provider_down"
    STOPPED = "stopped"
    UNKNOWN = "unknown"

    @property
    def event_kind(self) -> str:
        """Event name in the store for a transition into this state (inventory §4.7)."""
        return "agent.stopped" if self is AgentState.STOPPED else f"agent.{self.value}"

    @property
    def is_failure(self) -> bool:
        return self in (AgentState.AUTH_FAILED, AgentState.RATE_LIMITED, AgentState.PROVIDER_DOWN)


@dataclass
class Detection:
    """A classification of one screen, with the evidence that produced it."""

    state: AgentState
    confidence: float
    evidence: list[str] = field(default_factory=list)  # e.g. ["working:esc to interrupt"]
    detail: str | None = None  # the matched error line, for auth/rate-limit/provider-down
    context_used_pct: float | None = None  # context window *used*, normalised per runtime
    source: str = "screen"  # "screen" | "state_file" | "rollout" | ...


@dataclass
class LaunchContext:
    """Everything an adapter needs to build the command that starts its CLI."""

    agent: str
    workspace: str
    workdir: Path
    state_dir: Path  # .tutti/state of the workspace (adapters may write settings/shims here)
    command: str | None = None  # binary override (profile or [[runtime]] command)
    prompt: str | None = None  # initial prompt from [[agent]].prompt
    mode: str = "auto"  # safe | auto | unattended
    policy: str = "constrained"  # constrained | bypass
    allow_rules: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class LaunchSpec:
    """The result of preparing a launch: argv to run in the pane and env for the session."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    enforcement: str = "none"  # prompt | bypass | hard_shim | hard | unsupported | none
    notes: list[str] = field(default_factory=list)


class RuntimeAdapter(Protocol):
    name: str
    default_command: str

    def build_launch(self, ctx: LaunchContext) -> LaunchSpec:
        """argv + env for starting the CLI in the agent's workdir."""
        ...

    def classify(self, screen: str) -> Detection:
        """Classify a captured screen (the whole visible pane, not a small window)."""
        ...

    def submit_delay_secs(self) -> float:
        """Pause between pasting a prompt and pressing Enter (Codex swallows a burst Enter)."""
        ...
