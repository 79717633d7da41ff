"""Resolve a configured workflow into a plan the engine can execute.

Resolution is where every per-run decision is made once (inventory §6.1): the `--agent`
override, the working directory of command steps, effective fail modes, the dependency graph
(`depends_on` for every step type; no `depends_on` = depends on the previous step) and the
waves it schedules into. The engine then treats every step the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti.errors import ConfigError, NotFoundError, UsageError
from tutti.paths import inside

if TYPE_CHECKING:
    from tutti.workspace import Workspace

# `--agent` re-targets every agent-bearing step — command and workflow steps with their own
# `agent` included — and fills it in where a command/workflow step has none (the original's rule).
AGENT_STEP_TYPES = ("prompt", "ensure_running", "review", "land", "command", "workflow")
# Step types that may start an agent (and so create its worktree) before a later step runs.
STARTS_AGENT = ("prompt", "ensure_running", "review", "land")
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass
class ResolvedStep:
    """One step of a plan, with everything decided that can be decided before running."""

    index: int  # 1-based, as in tutti.toml and `depends_on`
    type: str
    id: str | None
    key: str  # "003-build": 3-digit index + sanitised id or type (files, events, logs)
    agent: str | None
    fail_mode: str  # effective: "open" | "closed"
    depends_on: list[int]  # normalised (explicit list, or the previous step)
    config: Any  # the step model from config.models
    cwd: Path | None = None  # command steps: resolved working directory
    cwd_kind: str | None = None  # "workspace" | "agent_worktree"
    check_cwd_at_run: bool = False  # worktree may be created by an earlier step
    output_json: Path | None = None  # absolute target of `output_json`
    timeout_secs: int | None = None

    @property
    def label(self) -> str:
        return f"{self.index} '{self.id}'" if self.id else f"{self.index} ({self.type})"

    @property
    def summary(self) -> str:
        cfg = self.config
        text = {
            "command": getattr(cfg, "run", ""),
            "prompt": getattr(cfg, "text", ""),
            "workflow": f"run workflow '{getattr(cfg, 'workflow', '')}'",
            "ensure_running": f"ensure agent '{self.agent}' is running",
            "review": f"review '{self.agent}' by '{getattr(cfg, 'reviewer', '')}'",
            "land": f"land '{self.agent}'",
        }.get(self.type, self.type)
        line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
        return line if len(line) <= 80 else line[:77] + "..."

    @property
    def full_summary(self) -> str:
        """`--dry-run --json` `summary`: the prompt text / command line in full, as the original."""
        if self.type == "prompt":
            return self.config.text
        if self.type == "command":
            return self.config.run
        return self.summary

    def intent(self) -> dict[str, Any]:
        """What this step is about to do, recorded before it starts (crash-safe intent log)."""
        cfg = self.config
        base: dict[str, Any] = {"agent": self.agent}
        if self.type == "command":
            base.update(run=cfg.run, cwd=str(self.cwd) if self.cwd else None, timeout_secs=self.timeout_secs)
        elif self.type == "prompt":
            base.update(text_chars=len(cfg.text), artifact_glob=cfg.artifact_glob, artifact_name=cfg.artifact_name)
        elif self.type == "workflow":
            base.update(workflow=cfg.workflow, agent_override=self.agent, strict=cfg.strict)
        elif self.type == "land":
            base.update(pr=cfg.pr, force=cfg.force)
        elif self.type == "review":
            base.update(reviewer=cfg.reviewer)
        return base

    def to_dict(self) -> dict[str, Any]:
        """Dry-run shape (inventory §1 `--dry-run --json`), plus id/key/depends_on."""
        cfg = self.config
        d: dict[str, Any] = {"type": self.type, "index": self.index, "id": self.id, "key": self.key,
                             "agent": self.agent, "depends_on": self.depends_on}
        if self.type == "command":
            d.update(cwd=str(self.cwd) if self.cwd else None, fail_mode=self.fail_mode, command=cfg.run,
                     timeout_secs=self.timeout_secs, summary=self.full_summary,
                     output_json=str(self.output_json) if self.output_json else None)
        elif self.type == "prompt":
            d.update(summary=self.full_summary, inject_files=len(cfg.inject_files), fail_mode=self.fail_mode,
                     wait_for_idle=cfg.wait_for_idle, wait_timeout_secs=cfg.effective_wait_timeout)
            if cfg.artifact_glob:
                d.update(artifact_glob=cfg.artifact_glob, artifact_name=cfg.artifact_name)
        elif self.type == "workflow":
            d.update(workflow=cfg.workflow, strict=cfg.strict, fail_mode=self.fail_mode)
        elif self.type == "land":
            d.update(pr=cfg.pr, force=cfg.force, fail_mode=self.fail_mode)
        elif self.type == "review":
            d.update(reviewer=cfg.reviewer, fail_mode=self.fail_mode)
        else:
            d.update(fail_mode=self.fail_mode)
        from tutti.config.step_defaults import implicit_defaults

        d["defaults"] = implicit_defaults(cfg)  # keys left out of tutti.toml and the value each took
        return d


@dataclass
class Plan:
    workflow: str
    description: str | None
    strict: bool
    agent_scope: str | None
    steps: list[ResolvedStep]
    waves: list[list[int]] = field(default_factory=list)
    force_open: bool = False  # verify without --strict: command failures are warnings

    def step(self, index: int) -> ResolvedStep:
        return self.steps[index - 1]

    def to_dict(self) -> dict[str, Any]:
        return {"workflow": self.workflow, "description": self.description, "strict": self.strict,
                "agent": self.agent_scope, "waves": self.waves, "steps": [s.to_dict() for s in self.steps]}


def step_key(index: int, step_id: str | None, step_type: str) -> str:
    name = _KEY_UNSAFE.sub("_", step_id or step_type).strip("_") or step_type
    return f"{index:03d}-{name}"


def resolve_plan(ws: Workspace, name: str, *, agent: str | None = None, strict: bool = False,
                 force_open: bool = False) -> Plan:
    """Turn workflow `name` into a Plan, raising the resolver-time errors of inventory §2.3."""
    workflow = ws.config.workflow(name)
    if workflow is None:
        if not ws.config.workflows:  # e.g. `tt init` fell back to the minimal template
            raise NotFoundError(f"workflow '{name}' not found: {ws.config_path} declares no workflows",
                                hint=f'add one: [[workflow]] name = "{name}", then [[workflow.step]] '
                                     'type = "command" run = "<your test command>"')
        known = ", ".join(w.name for w in ws.config.workflows)
        raise NotFoundError(f"workflow '{name}' not found",
                            hint=f"configured workflows: {known} (see `tt run --list`)")
    if agent is not None and ws.config.agent(agent) is None:
        raise NotFoundError(f"unknown agent '{agent}' (--agent of workflow '{name}')", hint=_agents_hint(ws, workflow))
    if not workflow.steps:
        raise ConfigError(f"{ws.config_path}: workflow '{name}' must have at least one step",
                          hint="add a [[workflow.step]] table")
    where = f"{ws.config_path}: workflow '{name}'"
    steps: list[ResolvedStep] = []
    for i, cfg in enumerate(workflow.steps, start=1):
        steps.append(_resolve_step(ws, where, i, cfg, agent, strict, force_open, steps))
    return Plan(workflow=name, description=workflow.description, strict=strict, agent_scope=agent,
                steps=steps, waves=compute_waves(where, steps), force_open=force_open)


def _names(ws: Workspace) -> str:
    return ", ".join(a.name for a in ws.config.agents)


def _agents_hint(ws: Workspace, workflow: Any) -> str:
    """What `--agent` may name: the agents this workflow's steps use, then all of the workspace's."""
    everyone = _names(ws)
    if not everyone:
        return f"{ws.config_path} declares no [[agent]]: run the workflow without --agent"
    used = list(dict.fromkeys(s.agent for s in workflow.steps if getattr(s, "agent", None)))
    mine = f"agents of this workflow's steps: {', '.join(used)}; " if used else ""
    return f"{mine}agents in {ws.config_path}: {everyone} (pass one of them, or omit --agent)"


def _resolve_step(ws: Workspace, where: str, index: int, cfg: Any, override: str | None, strict: bool,
                  force_open: bool, earlier: list[ResolvedStep]) -> ResolvedStep:
    stype = cfg.type
    step_agent = getattr(cfg, "agent", None)
    if stype in AGENT_STEP_TYPES:
        agent = override or step_agent
    else:
        agent = step_agent or override
    if agent is not None and ws.config.agent(agent) is None:
        raise ConfigError(f"{where} → step {index} ({stype}) → agent: unknown agent '{agent}'",
                          hint="use an agent name declared with [[agent]]: " + (_names(ws) or "none is declared"))
    configured = getattr(cfg, "fail_mode", "closed")
    if stype == "prompt":
        fail_mode = "closed"  # prompt failures always fail the run
    elif strict:
        fail_mode = "closed"
    elif stype == "command" and force_open:
        fail_mode = "open"
    else:
        fail_mode = configured
    if cfg.depends_on is None:
        deps = [index - 1] if index > 1 else []
    else:
        deps = list(cfg.depends_on)
    step = ResolvedStep(index=index, type=stype, id=cfg.id, key=step_key(index, cfg.id, stype), agent=agent,
                        fail_mode=fail_mode, depends_on=deps, config=cfg)
    if stype == "command":
        _resolve_command_cwd(ws, where, step, earlier)
    return step


def _resolve_command_cwd(ws: Workspace, where: str, step: ResolvedStep, earlier: list[ResolvedStep]) -> None:
    cfg = step.config
    here = f"{where} → step {step.index} (command)"
    step.timeout_secs = cfg.timeout_secs
    step.cwd_kind = cfg.cwd
    base = ws.root
    if cfg.cwd == "agent_worktree":
        if step.agent is None:
            raise ConfigError(f"{here} → cwd: command step with cwd='agent_worktree' requires agent (step or --agent)",
                              hint="set agent = \"NAME\" on the step or pass --agent")
        agent = ws.config.agent(step.agent)
        if agent is not None and ws.config.uses_worktree(agent):
            base = ws.worktree_path(step.agent)
            if not base.is_dir():
                # An earlier step may start the agent (and create its worktree): check at run time.
                if any(e.agent == step.agent and e.type in STARTS_AGENT for e in earlier):
                    step.check_cwd_at_run = True
                else:
                    raise NotFoundError(f"agent worktree not found for '{step.agent}': {base}",
                                        hint=f"start the agent first: tt up {step.agent}")
    cwd = base
    if cfg.subdir is not None:
        if not cfg.subdir.strip() or Path(cfg.subdir).is_absolute():
            raise ConfigError(f"{here} → subdir: subdir must be workspace-relative: '{cfg.subdir}'",
                              hint="use a relative path such as \"backend\"")
        cwd = base / cfg.subdir
        if not inside(base, cwd):
            raise ConfigError(f"{here} → subdir: '{cfg.subdir}' leaves the {cfg.cwd} directory",
                              hint="remove '..' from subdir")
        if not step.check_cwd_at_run and not cwd.is_dir():
            raise NotFoundError(f"command step subdir does not exist: {cwd}", hint=f"create it or fix {here} → subdir")
    step.cwd = cwd
    if cfg.output_json:
        target = cwd / cfg.output_json
        if Path(cfg.output_json).is_absolute() or not inside(ws.root, target):
            raise ConfigError(f"{here} → output_json: '{cfg.output_json}' must stay inside the workspace",
                              hint="use a path relative to the step's cwd, e.g. \".tutti/state/out.json\"")
        if not cfg.id:
            raise ConfigError(f"{here} → output_json: uses output_json but is missing id", hint="add id = \"...\"")
        step.output_json = target


def compute_waves(where: str, steps: list[ResolvedStep]) -> list[list[int]]:
    """Group steps into waves: a step's wave is one after the latest wave of its dependencies."""
    count = len(steps)
    for s in steps:
        seen: set[int] = set()
        for d in s.depends_on:
            if not 1 <= d <= count:
                raise ConfigError(f"{where} → step {s.index} → depends_on: references invalid step {d}",
                                  hint=f"steps are numbered 1..{count}")
            if d == s.index:
                raise ConfigError(f"{where} → step {s.index} → depends_on: step {s.index} cannot depend on itself",
                                  hint="remove it from depends_on")
            if d in seen:
                raise ConfigError(f"{where} → step {s.index} → depends_on: duplicate depends_on step {d}",
                                  hint="list each step once")
            seen.add(d)
    # Kahn's algorithm: O(steps + edges), a step's level known once all its dependencies' are.
    unmet = {s.index: len(s.depends_on) for s in steps}
    dependents: dict[int, list[int]] = {}
    for s in steps:
        for d in s.depends_on:
            dependents.setdefault(d, []).append(s.index)
    by_index = {s.index: s for s in steps}
    frontier = [i for i, n in unmet.items() if n == 0]
    level: dict[int, int] = {}
    while frontier:
        i = frontier.pop()
        level[i] = 1 + max((level[d] for d in by_index[i].depends_on), default=-1)
        for j in dependents.get(i, ()):
            unmet[j] -= 1
            if unmet[j] == 0:
                frontier.append(j)
    if len(level) < len(steps):
        cyclic = sorted(i for i in by_index if i not in level)
        raise ConfigError(f"{where}: workflow has cyclic depends_on graph (steps {cyclic})",
                          hint="break the cycle in depends_on")
    waves: list[list[int]] = [[] for _ in range(max(level.values()) + 1)]
    for i in sorted(level):
        waves[level[i]].append(i)
    return waves


def check_run_id(run_id: str) -> str:
    if not run_id or not re.fullmatch(r"[A-Za-z0-9_-]+", run_id):
        raise UsageError(f"invalid run_id '{run_id}': only [A-Za-z0-9_-] allowed", hint="copy the id from `tt runs list`")
    return run_id
