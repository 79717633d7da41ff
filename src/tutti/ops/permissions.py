"""`tt permissions check|suggest|export` (inventory §9.4).

The policy check every command goes through (`evaluate`, `record_decision`, `enforce_command`)
lives in `tutti.policy.enforce` (below the workflow steps, gates and the loop that call it) and is
re-exported here. Matching itself is `tutti.policy.permissions.check_command` — with the compound-command
fix: `git status && rm -rf x` is NOT allowed by rule `git status`; every simple command of a
pipeline/list must be allowed. Decisions are recorded as `policy.decision` events and in
`.tutti/state/policy-decisions.jsonl` whenever a workspace is known.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti.errors import ConfigError, NotFoundError, UsageError
from tutti.fsutil import write_text_atomic
from tutti.policy.enforce import (  # noqa: F401 - re-exported: the ops-level names callers use
    DECISIONS_FILE,
    CheckResult,
    allow_rules,
    enforce_command,
    evaluate,
    no_policy_error,
    record_decision,
)

if TYPE_CHECKING:
    from tutti.workspace import Workspace

SUPPORTED_EXPORT = ("claude", "claude-code")


def check(command: str, *, ws: Workspace | None = None) -> CheckResult:
    """`tt permissions check`: evaluate, and record a `permission_check` decision in a workspace."""
    if not command.strip():
        raise UsageError("no command given", hint="usage: tt permissions check CMD...")
    result = evaluate(command, allow_rules())
    if ws is not None:
        record_decision(ws, result, source="permission_check")
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
        raise UsageError(f"unsupported runtime '{runtime}'; supported: claude",
                         hint="only Claude Code reads a settings file: `tt permissions export --runtime claude`; "
                              "the other runtimes get the allow list through shell shims at `tt up` (mode auto)")
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
