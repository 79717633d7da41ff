"""`tt permissions check|suggest|export` (inventory §9.4) and the policy check every workflow
command goes through.

Matching itself lives in `tutti.policy.permissions.check_command` — with the compound-command
fix: `git status && rm -rf x` is NOT allowed by rule `git status`; every simple command of a
pipeline/list must be allowed. Decisions are recorded as `policy.decision` events and in
`.tutti/state/policy-decisions.jsonl` whenever a workspace is known.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti.errors import ConfigError, NotFoundError, PolicyError, UsageError
from tutti.fsutil import append_jsonl, write_text_atomic

if TYPE_CHECKING:
    from tutti.config.models import GlobalConfig
    from tutti.workspace import Workspace

DECISIONS_FILE = "policy-decisions.jsonl"
SUPPORTED_EXPORT = ("claude", "claude-code")


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


def check(command: str, *, ws: Workspace | None = None) -> CheckResult:
    """`tt permissions check`: evaluate, and record a `permission_check` decision in a workspace."""
    if not command.strip():
        raise UsageError("no command given", hint="usage: tt permissions check CMD...")
    result = evaluate(command, allow_rules())
    if ws is not None:
        record_decision(ws, result, source="permission_check")
    return result


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


# -- suggest ---------------------------------------------------------------------------------
@dataclass
class Suggestion:
    workflow: str
    total_commands: int
    blocked: list[dict[str, Any]]
    applied_rules: list[str]
    policy_configured: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _walk_commands(ws: Workspace, name: str, stack: tuple[str, ...], out: list[tuple[str, str]]) -> None:
    wf = ws.config.workflow(name)
    if wf is None:
        known = ", ".join(w.name for w in ws.config.workflows) or "(none)"
        raise NotFoundError(f"workflow '{name}' not found in {ws.config_path}", hint=f"known workflows: {known}")
    if name in stack:
        chain = " -> ".join((*stack, name))
        raise ConfigError(f"cyclic workflow reference detected at '{name}' ({chain})",
                          hint="remove the nested workflow step that calls back into an outer workflow")
    for i, step in enumerate(wf.steps, start=1):
        if step.type == "command":
            out.append((f"{name}#{i}", step.run))
        elif step.type == "workflow":
            _walk_commands(ws, step.workflow, (*stack, name), out)


def suggest(ws: Workspace, workflow: str, *, apply: bool = False) -> Suggestion:
    """Every command of `workflow` (and nested workflows) the policy would block, with the rule
    that would allow it; `apply` appends those rules to the global allow list (comments kept)."""
    commands: list[tuple[str, str]] = []
    _walk_commands(ws, workflow, (), commands)
    rules = allow_rules()
    blocked: list[dict[str, Any]] = []
    for where, command in commands:
        result = evaluate(command, rules if rules is not None else [])
        if not result.allowed:
            blocked.append({"command": result.command, "step": where, "suggested_rule": result.suggested_rule,
                            "reason": result.reason})
    applied: list[str] = []
    if apply and blocked:
        from tutti.config.global_config import append_permission_rules

        wanted = list(dict.fromkeys(b["suggested_rule"] for b in blocked if b["suggested_rule"]))
        applied = append_permission_rules(wanted)
        ws.store.append_event("policy.rules_applied", data={"workflow": workflow, "rules": applied})
    return Suggestion(workflow, len(commands), blocked, applied, rules is not None)


# -- export ----------------------------------------------------------------------------------
@dataclass
class ExportResult:
    runtime: str
    settings: dict[str, Any]
    output: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def export(runtime: str = "claude", *, output: Path | None = None) -> ExportResult:
    """Claude Code settings (`{"permissions": {"allow": [...]}}`) from the global allow list."""
    if runtime not in SUPPORTED_EXPORT:
        raise UsageError(f"unsupported runtime '{runtime}'; supported: claude")
    from tutti.policy.permissions import export_claude_settings

    rules = allow_rules() or []
    settings = export_claude_settings(rules)
    if not isinstance(settings, dict):  # tolerate an exporter that returns JSON text
        import json

        settings = json.loads(settings)
    if output is not None:
        import json

        write_text_atomic(output, json.dumps(settings, indent=2) + "\n")
    return ExportResult(runtime, settings, str(output) if output else None)
