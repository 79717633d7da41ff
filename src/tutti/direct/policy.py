"""The policy gate every tool call passes before it runs.

Checks, in order (the first refusal wins, and a human is only asked when nothing else refused):
1. `allowed_tools` — the tool must be listed (when a list is configured);
2. the workspace boundary — file paths must resolve (symlinks included) inside the agent's
   root; and `network_boundary = "air-gapped"` — shell commands that reach the network are refused,
   judged on the parsed command line (`tutti.direct.network`);
3. `budget_usd` — refused when the cost so far plus the expected next model call would exceed
   the run's budget;
4. `requires_approval` — `true` (every tool) or a list of tool names: an `Approver` decides.

A refusal becomes a `POLICY DENIED: {reason}` error tool result for the model; the loop records
every decision as a `direct.policy_decision` event.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tutti.direct.messages import ToolUseBlock
from tutti.direct.network import check_command
from tutti.direct.tools import TOOL_NAMES


@dataclass
class Policy:
    allowed_tools: list[str] | None = None
    network_boundary: str = "open"
    budget_usd: float | None = None
    requires_approval: bool | list[str] = False

    @classmethod
    def for_agent(cls, agent: Any, defaults: Any = None) -> Policy:
        """Agent keys override `[direct]` defaults; either may be absent."""

        def pick(key: str, fallback: Any) -> Any:
            value = getattr(agent, key, None) if agent is not None else None
            if value is None and defaults is not None:
                value = getattr(defaults, key, None)
            return fallback if value is None else value

        return cls(
            allowed_tools=pick("allowed_tools", None),
            network_boundary=pick("network_boundary", "open"),
            budget_usd=pick("budget_usd", None),
            requires_approval=pick("requires_approval", False),
        )

    def allowed_tools_offered(self) -> list[str] | None:
        """Tools to offer the model: only the allowed ones (a model that calls another anyway is
        still refused and recorded by `check`)."""
        return self.allowed_tools

    def needs_approval(self, tool: str) -> bool:
        if isinstance(self.requires_approval, bool):
            return self.requires_approval
        return tool in self.requires_approval

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ApprovalRequest:
    approval_id: str
    run_id: str
    agent: str | None
    tool: str
    args: dict[str, Any]


# Returns True to allow; may raise to abort. A string result is a denial reason.
Approver = Callable[[ApprovalRequest], "bool | str"]


@dataclass
class Decision:
    tool: str
    call_id: str
    allowed: bool
    # allowed_tools | unknown_tool | workspace_boundary | network_boundary | budget_usd |
    # requires_approval | default
    rule: str
    reason: str
    approval_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def denial_text(self) -> str:
        return f"POLICY DENIED: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "call_id": self.call_id,
            "decision": "allow" if self.allowed else "deny",
            "rule": self.rule,
            "reason": self.reason,
            "approval_id": self.approval_id,
            **self.details,
        }


class PolicyGate:
    def __init__(
        self,
        policy: Policy,
        *,
        run_id: str,
        agent: str | None = None,
        approver: Approver | None = None,
        path_guard: Callable[[str, dict[str, Any]], str | None] | None = None,
    ) -> None:
        self.policy = policy
        self.path_guard = path_guard
        self.run_id = run_id
        self.agent = agent
        self.approver = approver

    def check(self, call: ToolUseBlock, *, spent_usd: float = 0.0, next_call_usd: float = 0.0) -> Decision:
        p = self.policy
        tool = call.name

        def deny(rule: str, reason: str, **details: Any) -> Decision:
            return Decision(tool, call.id, False, rule, reason, details=details)

        if p.allowed_tools is not None and tool not in p.allowed_tools:
            allowed = ", ".join(p.allowed_tools) or "none"
            return deny("allowed_tools", f"tool '{tool}' is not in allowed_tools [{allowed}]")
        if tool not in TOOL_NAMES:
            return deny("unknown_tool", f"no tool named '{tool}'")
        escape = self.path_guard(tool, call.input) if self.path_guard else None
        if escape:
            return deny("workspace_boundary", escape)
        if p.network_boundary == "air-gapped" and tool == "shell":
            command = call.input.get("command")
            if isinstance(command, str):
                verdict = check_command(command)
                if verdict.network:
                    return deny(
                        "network_boundary",
                        f"network_boundary is air-gapped: {verdict.reason} (in `{verdict.command[:120]}`)",
                        command=command[:300],
                    )
        if p.budget_usd is not None and spent_usd + next_call_usd > p.budget_usd:
            return deny(
                "budget_usd",
                f"budget_usd ${p.budget_usd:.4f} would be exceeded: spent ${spent_usd:.4f}, "
                f"next model call ≈ ${next_call_usd:.4f}",
                spent_usd=round(spent_usd, 6),
                budget_usd=p.budget_usd,
            )
        if p.needs_approval(tool):
            approval_id = f"appr_{uuid.uuid4().hex[:12]}"
            if self.approver is None:
                return Decision(
                    tool,
                    call.id,
                    False,
                    "requires_approval",
                    f"tool '{tool}' requires approval and nobody can approve it here",
                    approval_id=approval_id,
                )
            answer = self.approver(
                ApprovalRequest(approval_id, self.run_id, self.agent, tool, dict(call.input))
            )
            if answer is True:
                return Decision(tool, call.id, True, "requires_approval", "approved", approval_id=approval_id)
            reason = answer if isinstance(answer, str) and answer else "denied by the approver"
            return Decision(
                tool,
                call.id,
                False,
                "requires_approval",
                f"tool '{tool}' not approved: {reason}",
                approval_id=approval_id,
            )
        return Decision(tool, call.id, True, "default", "allowed")
