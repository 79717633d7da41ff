"""Pluggable merge gates: what must be true before an agent's branch lands.

Configured by `[gate]` in tutti.toml:

    [gate]
    kind = "local"            # "local" (default, no GitHub needed) | "github" | "none"
    workflow = "verify"       # local: this workflow must succeed with --agent AGENT
    commands = ["pytest -q"]  # local: each must exit 0 in the agent's worktree
    require_review = true     # latest review verdict must be "approve" for the branch head

The original hard-wired the GitHub gate into every workflow `land`, so local-only repositories
could never land from a workflow (inventory §12.16). A gate is any object with
`check(ws, agent, ...) -> GateResult`; register more in `GATES`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tutti import proc
from tutti.adapters import Registry
from tutti.errors import ConfigError, GateError, NotFoundError

if TYPE_CHECKING:
    from tutti.workspace import Workspace

GATE_COMMAND_TIMEOUT = 1800
WorkflowRunner = Callable[..., Any]  # workflows.engine.run_named(ws, name, *, agent, origin, parent_run_id, cancel)


@dataclass
class GateResult:
    gate: str
    passed: bool
    message: str
    checks: list[dict[str, Any]] = field(default_factory=list)  # one entry per thing verified
    findings: list[dict[str, Any]] = field(default_factory=list)  # review findings when blocked by one

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def raise_if_blocked(self) -> None:
        if not self.passed:
            err = GateError(self.message, hint="fix the blocking checks, or land with --force outside a workflow"
                            if not self.findings else "address the reviewer's findings, then review again")
            err.gate_result = self  # type: ignore[attr-defined] - callers record the findings
            raise err


class Gate(Protocol):
    name: str

    def check(self, ws: Workspace, agent: str, *, run_id: str | None = None,
              cancel: threading.Event | None = None) -> GateResult: ...


class NoGate:
    name = "none"

    def check(self, ws: Workspace, agent: str, *, run_id: str | None = None,
              cancel: threading.Event | None = None) -> GateResult:
        return GateResult("none", True, "no merge gate configured")


def _branch(ws: Workspace, agent: str) -> str:
    cfg = ws.config.agent(agent)
    if cfg is None:
        raise NotFoundError(f"agent '{agent}' not found in {ws.config_path}", hint="check the agent name")
    return cfg.branch_name()


def review_check(ws: Workspace, agent: str) -> GateResult:
    """The latest verdict must approve the branch's current head (a stale approval fails)."""
    from tutti.gates.repo import Repo
    from tutti.gates.review import latest_verdict

    verdict = latest_verdict(ws, agent)
    if verdict is None:
        return GateResult("review", False, f"merge gate blocked: no review verdict recorded for '{agent}'")
    findings = [asdict(f) for f in verdict.findings]
    if not verdict.approved:
        detail = verdict.findings_text(5)
        return GateResult("review", False,
                          f"merge gate blocked: reviewer '{verdict.reviewer}' requested changes on '{agent}'"
                          + (f": {detail}" if detail else (f": {verdict.summary}" if verdict.summary else "")),
                          findings=findings)
    head = Repo(ws.root).rev(_branch(ws, agent))
    if verdict.head and head and verdict.head != head:
        return GateResult("review", False, f"merge gate blocked: the approval of '{agent}' is for {verdict.head[:12]}, "
                          f"but the branch is now at {head[:12]}; review again")
    return GateResult("review", True, f"approved by '{verdict.reviewer}'")


def _review_first(ws: Workspace, agent: str, gate: str, checks: list[dict[str, Any]]) -> GateResult | None:
    """The review check a gate with require_review runs before anything else: recorded in
    `checks`; a blocking result when the review has not passed, else None."""
    r = review_check(ws, agent)
    checks.append({"check": "review", "passed": r.passed, "detail": r.message})
    return None if r.passed else GateResult(gate, False, r.message, checks, r.findings)


class LocalGate:
    name = "local"

    def __init__(self, workflow: str | None = None, commands: list[str] | None = None,
                 require_review: bool = False, run_workflow: WorkflowRunner | None = None) -> None:
        self.workflow, self.commands, self.require_review = workflow, list(commands or []), require_review
        self.run_workflow = run_workflow  # workflows.engine.run_named, passed in by the caller

    def check(self, ws: Workspace, agent: str, *, run_id: str | None = None,
              cancel: threading.Event | None = None) -> GateResult:
        checks: list[dict[str, Any]] = []
        if self.require_review and (blocked := _review_first(ws, agent, self.name, checks)):
            return blocked
        cwd = ws.worktree_path(agent)
        if self.commands and not cwd.is_dir():
            raise GateError(f"merge gate: worktree of '{agent}' not found at {cwd}", hint=f"tt up {agent}")
        for command in self.commands:
            _check_policy(ws, command, agent)
            res = proc.run(proc.shell_argv(command), cwd=cwd, timeout=GATE_COMMAND_TIMEOUT, cancel=cancel)
            passed = res.ok
            tail = (res.stdout + res.stderr).strip().splitlines()[-5:]
            checks.append({"check": f"command: {command}", "passed": passed, "exit_code": res.returncode,
                           "detail": "\n".join(tail)})
            if not passed:
                what = "timed out" if res.timed_out else f"exit {res.returncode}"
                return GateResult("local", False, f"merge gate blocked: `{command}` failed ({what}) in {cwd}"
                                  + (f": {tail[-1]}" if tail else ""), checks)
        if self.workflow:
            if self.run_workflow is None:  # gates sit beside the engine: the caller hands it over
                raise TypeError("LocalGate with a workflow needs run_workflow=workflows.engine.run_named")
            result = self.run_workflow(ws, self.workflow, agent=agent, origin="gate", parent_run_id=run_id,
                               cancel=cancel or threading.Event())
            checks.append({"check": f"workflow: {self.workflow}", "passed": result.success, "run_id": result.run_id})
            if not result.success:
                return GateResult("local", False, f"merge gate blocked: {result.failure_message()}", checks)
        return GateResult("local", True, f"Merge gate passed for '{agent}' ({len(checks)} check(s))", checks)


class GithubGate:
    name = "github"

    def __init__(self, require_review: bool = False) -> None:
        self.require_review = require_review

    def check(self, ws: Workspace, agent: str, *, run_id: str | None = None,
              cancel: threading.Event | None = None) -> GateResult:
        from tutti.gates.github import check_pr_gate

        checks: list[dict[str, Any]] = []
        if self.require_review and (blocked := _review_first(ws, agent, self.name, checks)):
            return blocked
        try:
            pr, message = check_pr_gate(ws.root, _branch(ws, agent), settings=ws.config.github)
        except GateError as exc:
            checks.append({"check": "github", "passed": False, "detail": exc.message})
            return GateResult("github", False, exc.message, checks)
        checks.append({"check": "github", "passed": True, "pr": pr.number, "url": pr.url})
        return GateResult("github", True, message, checks)


def _check_policy(ws: Workspace, command: str, agent: str | None) -> None:
    """Gate commands obey the permission policy like every workflow command."""
    from tutti.policy.enforce import enforce_command

    enforce_command(ws, command, source="merge_gate", agent=agent)


def _local_gate(ws: Workspace, cfg: Any, *, run_workflow: WorkflowRunner | None = None) -> LocalGate:
    if cfg.workflow and ws.config.workflow(cfg.workflow) is None:
        raise ConfigError(f"{ws.config_path}: gate → workflow: unknown workflow '{cfg.workflow}'",
                          hint="name a [[workflow]] defined in tutti.toml")
    return LocalGate(cfg.workflow, cfg.commands, cfg.require_review, run_workflow)


# kind -> factory(ws, gate_config, *, run_workflow) -> Gate (tutti.adapters.Registry: one line
# per new gate kind). `run_workflow` is `workflows.engine.run_named` when the caller can run one.
GATES: Registry[Gate] = Registry("merge gate", {
    "none": lambda ws, cfg, **_: NoGate(),
    "local": _local_gate,
    "github": lambda ws, cfg, **_: GithubGate(cfg.require_review),
})


def gate_for(ws: Workspace, kind: str | None = None, *, run_workflow: WorkflowRunner | None = None) -> Gate:
    cfg = ws.config.gate
    return GATES.build(kind or cfg.kind, ws, cfg, run_workflow=run_workflow, where=f"{ws.config_path}: gate → kind")


def enforce(ws: Workspace, agent: str, *, run_id: str | None = None, cancel: threading.Event | None = None,
            step: str | None = None, run_workflow: WorkflowRunner | None = None) -> GateResult:
    """Check the configured gate, record `gate.passed|gate.blocked`, raise GateError if blocked.
    `run_workflow`: `workflows.engine.run_named`, for a local gate with a `workflow`."""
    result = gate_for(ws, run_workflow=run_workflow).check(ws, agent, run_id=run_id, cancel=cancel)
    ws.store.append_event("gate.passed" if result.passed else "gate.blocked", agent=agent, run_id=run_id,
                          step=step, data=result.to_dict())
    result.raise_if_blocked()
    return result
