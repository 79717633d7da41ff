"""The policy check every command Tutti runs on an agent's behalf goes through (workflow
commands, merge-gate commands, loop verify commands): evaluate a command against the global
`[permissions] allow` list and record the decision as a `policy.decision` event and in
`.tutti/state/policy-decisions.jsonl`.

It lives in `policy/` (below `workflows/`, `gates/`, `loop/` and `ops/`) so every layer that runs
a command calls it directly; `ops.permissions` keeps the `tt permissions` use-cases on top.
Matching itself is `tutti.policy.permissions.check_command`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti.errors import PolicyError
from tutti.fsutil import append_jsonl

if TYPE_CHECKING:
    from tutti.config.models import GlobalConfig
    from tutti.workspace import Workspace

DECISIONS_FILE = "policy-decisions.jsonl"


@dataclass
class CheckResult:
    command: str
    allowed: bool
    policy_configured: bool
    matched_rule: str | None
    suggested_rule: str | None
    reason: str
    matched_rules: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _global() -> GlobalConfig:
    from tutti.config.global_config import load_global

    return load_global()


def _global_path() -> Path:
    from tutti.config.global_config import global_path

    return global_path()


def allow_rules(config: GlobalConfig | None = None) -> list[str] | None:
    """The `[permissions] allow` list, or None when no policy is configured."""
    config = config or _global()
    return None if config.permissions is None else list(config.permissions.allow)


def no_policy_error() -> PolicyError:
    """`tt permissions check` without a policy: say so (exit 1) — `tt up` refuses the same config."""
    return PolicyError(f"no permissions policy is configured: [permissions] allow in {_global_path()} is missing "
                       "or empty, so no command is checked (and `tt up` in mode auto refuses to launch agents)",
                       hint="add [permissions] allow = [\"git status\", ...] there — `tt permissions suggest WORKFLOW "
                            "--apply` proposes rules — or use [launch] mode = \"safe\" in tutti.toml")


def evaluate(command: str, rules: list[str] | None) -> CheckResult:
    # Match the raw command: collapsing whitespace first would turn a newline (a command
    # separator) into a space and let `git status\nrm -rf x` pass under rule `git status`.
    shown = " ".join(command.split())
    if rules is None:
        return CheckResult(shown, True, False, None, None,
                           f"Permissions policy is not configured in {_global_path()}; allowing command.")
    from tutti.policy.permissions import check_command

    d = check_command(command, rules)
    return CheckResult(shown, d.allowed, True, d.matched_rule, d.suggested_rule, d.reason or "",
                       list(d.matched_rules))


def record_decision(ws: Workspace, result: CheckResult, *, source: str, agent: str | None = None,
                    run_id: str | None = None, step: str | None = None) -> None:
    data = {"source": source, **result.to_dict()}
    ws.store.append_event("policy.decision", agent=agent, run_id=run_id, step=step, data=data)
    # the original's record keys (action, decision, policy, …) beside ours, for users' scripts
    now = datetime.now(UTC).isoformat()
    append_jsonl(ws.state_dir / DECISIONS_FILE, {
        "timestamp": now, "ts": now, "workspace": ws.name, "agent": agent, "runtime": None, "action": source,
        "mode": "n/a", "policy": "configured" if result.policy_configured else "unset",
        "enforcement": "hard" if result.policy_configured else "none",
        "decision": "allow" if result.allowed else "block", "reason": result.reason,
        "run_id": run_id, "step": step, **data})


def enforce_command(ws: Workspace, command: str, *, source: str = "workflow_command", agent: str | None = None,
                    run_id: str | None = None, step: str | None = None) -> CheckResult:
    """Raise PolicyError when a configured policy blocks `command`; record every decision."""
    rules = allow_rules()
    result = evaluate(command, rules)
    if rules is None:
        return result  # no policy: nothing to decide, nothing to record
    record_decision(ws, result, source=source, agent=agent, run_id=run_id, step=step)
    if not result.allowed:
        hint = f"add allow rule '{result.suggested_rule}'" if result.suggested_rule else "add an allow rule"
        raise PolicyError(f"command blocked by permissions policy: '{result.command}' ({result.reason})".rstrip(),
                          hint=f"{hint} to [permissions].allow in {_global_path()}")
    return result
