"""The agent lifecycle core: launch (`up`: depends_on order, worktrees, launch modes and policy,
profile limits and rotation, budget check, the background supervisor) and stop (`down`).

It lives below `ops/` so the workflow steps that start and reclaim agents run exactly what
`tt up` / `tt down` run; `ops.agents` keeps the use-cases on top (`down` there adds the
`agent_stop` hooks, which run on the workflow engine) and status/peek/detect.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tutti.config.models import Agent, GlobalConfig, Profile
from tutti.errors import ConfigError, SessionError, TuttiError, UsageError
from tutti.fsutil import append_jsonl
from tutti.runtimes.base import AgentState, LaunchContext
from tutti.runtimes.registry import adapter_for
from tutti.sessions import agent_state, memory, worktree
from tutti.sessions.backend import SessionBackend, default_backend
from tutti.sessions.naming import live_and_ours
from tutti.store.db import now_iso
from tutti.workspace import Workspace, all_workspaces, find_agent, load_global

MODES = ("safe", "auto", "unattended")
POLICIES = ("constrained", "bypass")
LAUNCH_CHECK_SECS = 10.0  # with profile rotation: how long a fresh launch may take to look healthy


# -- results ------------------------------------------------------------------------------
@dataclass
class LaunchedAgent:
    agent: str
    runtime: str
    session: str
    workdir: str
    branch: str | None
    enforcement: str
    profile: str | None = None


@dataclass
class UpResult:
    workspace: str
    launched: list[LaunchedAgent] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {agent, reason}
    warnings: list[str] = field(default_factory=list)
    watcher_pid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DownResult:
    workspace: str
    stopped: list[str] = field(default_factory=list)
    cleaned: list[dict[str, Any]] = field(default_factory=list)
    hook_failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- helpers --------------------------------------------------------------------------------
def start_order(ws: Workspace, names: list[str] | None = None) -> list[Agent]:
    """Agents in `depends_on` order (Kahn, stable by config order)."""
    agents = ws.config.agents if names is None else [find_agent(ws, n) for n in names]
    by_name = {a.name: a for a in agents}
    pending = {a.name: {d for d in a.depends_on if d in by_name} for a in agents}
    order: list[Agent] = []
    while pending:
        ready = [a.name for a in agents if a.name in pending and not pending[a.name]]
        if not ready:
            raise ConfigError(f"{ws.config_path}: dependency cycle detected among agents: {', '.join(sorted(pending))}",
                              hint="remove one of the depends_on entries that form the cycle")
        for name in ready:
            order.append(by_name[name])
            del pending[name]
        for deps in pending.values():
            deps.difference_update(ready)
    return order


def is_running(backend: SessionBackend, session: str) -> bool:
    """True when the session exists and its agent process is alive (a dead pane is stopped)."""
    pane = backend.pane(session)
    return pane is not None and not pane.dead


def _compatible(runtime: str, profile: Profile) -> bool:
    """Whether a profile's `command` may replace the runtime's binary (inventory §5.1)."""
    command, provider = (profile.command or "").lower(), (profile.provider or "").lower()
    return {
        "claude-code": "claude" in command or provider == "anthropic",
        "codex": "codex" in command or provider == "openai",
        "aider": "aider" in command,
        "openclaw": "openclaw" in command or provider == "openclaw",
        "gemini-cli": "gemini" in command or provider in ("google", "gemini"),
    }.get(runtime, False)


def sessions_on_profile(gc: GlobalConfig, profile: str, backend: SessionBackend, current: Workspace) -> int:
    """Running agent sessions across registered workspaces whose default profile is `profile`."""
    live = backend.panes()
    seen_roots: set[Path] = set()
    count = 0
    workspaces = [current] + [w for _n, _r, w, _e in all_workspaces() if w is not None]
    for ws in workspaces:
        if ws.root in seen_roots or ws.config.workspace.auth.default_profile != profile:
            continue
        seen_roots.add(ws.root)
        count += sum(1 for a in ws.config.agents if live_and_ours(live, ws.session_name(a.name)))
    return count


def _record_policy(ws: Workspace, agent: str, runtime: str, mode: str, policy: str, enforcement: str,
                   rules: int, argv: list[str]) -> None:
    effective = "n/a" if mode == "safe" else ("constrained" if mode == "auto" else policy)
    record = {"timestamp": now_iso(), "workspace": ws.name, "agent": agent, "runtime": runtime, "action": "launch",
              "mode": mode, "policy": effective, "enforcement": enforcement, "decision": "allow", "reason": None,
              "data": {"policy_rules": rules, "runtime": runtime, "command": argv[0] if argv else None}}
    append_jsonl(ws.state_dir / "policy-decisions.jsonl", record)


def _session_env(ws: Workspace, agent: Agent, runtime: str, workdir: Path, profile: Profile | None,
                 bypass: bool) -> dict[str, str]:
    env = ws.config.workspace.env.variables()
    env.update({str(k): str(v) for k, v in agent.env.items()})
    env.update({"TUTTI_AGENT": agent.name, "TUTTI_WORKSPACE": ws.name, "TUTTI_WORKSPACE_ROOT": str(ws.root)})
    from tutti.telemetry.context import agent_env

    env.update(agent_env(ws, agent.name, session_id=str(time.time_ns())))  # empty unless [observe] otel
    if profile is not None:
        env["TUTTI_PROFILE"] = profile.name
    try:
        from tutti.runtimes.prepare import prepare_runtime_env
    except ImportError:
        return env
    return prepare_runtime_env(ws, agent.name, runtime, env, profile=profile, workdir=workdir, bypass=bypass)


# -- up ---------------------------------------------------------------------------------------
def _register_if_new(ws: Workspace, gc, result: UpResult) -> None:
    """A hand-written tutti.toml never went through `tt init`: register it on first `tt up` so
    `workspace/agent` references, `tt workspaces` and `tt serve --all` find it. A name already
    registered for another directory is left alone (and said)."""
    known = {rw.name: rw.path for rw in gc.registered_workspaces}
    if known.get(ws.name) == str(ws.root):
        return
    if ws.name in known:
        result.warnings.append(f"workspace name '{ws.name}' is registered for {known[ws.name]}; "
                               f"this one ({ws.root}) is not registered — rename [workspace].name to address it")
        return
    try:
        from tutti.config.global_config import register_workspace

        register_workspace(ws.name, ws.root)
    except (OSError, TuttiError) as exc:
        result.warnings.append(f"workspace '{ws.name}' not registered: {exc}")


def up(ws: Workspace, agent: str | None = None, *, fresh_worktree: bool = False, mode: str | None = None,
       policy: str | None = None, backend: SessionBackend | None = None, start_watcher: bool = True,
       profile_override: str | None = None) -> UpResult:
    """Launch one agent (or all, in depends_on order) in tmux sessions and worktrees.

    `profile_override`: launch on exactly this global profile, no launch-time rotation (runtime
    recovery picks the next profile itself, see tutti.resilience)."""
    backend = backend or default_backend()
    mode = mode or ws.config.launch.mode
    policy = policy or ws.config.launch.policy
    if mode not in MODES:
        raise UsageError(f"unknown launch mode '{mode}'", hint=f"use one of: {', '.join(MODES)}")
    if policy not in POLICIES:
        raise UsageError(f"unknown launch policy '{policy}'", hint=f"use one of: {', '.join(POLICIES)}")
    for sub in ("state", "logs", "worktrees"):
        (ws.tutti_dir / sub).mkdir(parents=True, exist_ok=True)
    result = UpResult(workspace=ws.name)
    agents = _to_launch(ws, agent, backend, result)

    gc = load_global()
    _register_if_new(ws, gc, result)
    allow_rules = list(gc.permissions.allow) if gc.permissions else []
    profile_name = profile_override or ws.config.workspace.auth.default_profile
    profile = gc.profile(profile_name) if profile_name else None
    if profile_override and profile is None:
        from tutti.errors import NotFoundError

        raise NotFoundError(f"profile '{profile_override}' is not in the global config",
                            hint=f"profiles: {', '.join(p.name for p in gc.profiles) or '(none configured)'}")
    limit = profile.max_concurrent if profile else None

    try:
        refused = _up_each(ws, agents, result, backend, gc, profile_name, profile, limit, allow_rules,
                           fresh_worktree=fresh_worktree, mode=mode, policy=policy, rotate=profile_override is None)
    finally:
        # Even when a later agent fails, the ones already launched get watched.
        if result.launched and start_watcher:
            from tutti.lifecycle.supervisor_process import ensure_running

            result.watcher_pid = ensure_running(ws)
    if not result.launched and refused:
        used = sessions_on_profile(gc, profile_name, backend, ws)
        raise SessionError(f"profile '{profile_name}' reached max_concurrent ({used}/{limit})",
                           hint="stop an agent (tt down AGENT) or raise max_concurrent in the global config")
    return result


def _to_launch(ws: Workspace, agent: str | None, backend: SessionBackend, result: UpResult) -> list[Agent]:
    """The named agent, or the team in depends_on order — API-direct agents have no session."""
    if agent is not None:
        target = find_agent(ws, agent)
        if _api_direct(ws, target):
            raise UsageError(f"agent '{target.name}' is an API-direct agent (provider '{target.provider}'): "
                             "Tutti runs its turns itself, it has no terminal session to start",
                             hint=f'tt send {target.name} --direct "…", or a workflow prompt step naming it')
        for dep in target.depends_on:
            if not is_running(backend, ws.session_name(dep)):
                result.warnings.append(f"dependency '{dep}' is not running")
        return [target]
    agents = []
    for cfg in start_order(ws):
        if _api_direct(ws, cfg):  # no session to start: it would fail the whole team's `tt up`
            result.skipped.append({"agent": cfg.name, "reason": f"API-direct: tt send {cfg.name} --direct"})
        else:
            agents.append(cfg)
    return agents


def _api_direct(ws: Workspace, cfg: Agent) -> bool:
    """An agent with a provider and no CLI runtime: Tutti's own loop runs it (`tt send --direct`)."""
    return bool(getattr(cfg, "provider", None)) and not ws.config.resolved_runtime(cfg)


def _up_each(ws: Workspace, agents: list[Agent], result: UpResult, backend: SessionBackend, gc: GlobalConfig,
             profile_name: str | None, profile: Profile | None, limit: int | None, allow_rules: list[str], *,
             fresh_worktree: bool, mode: str, policy: str, rotate: bool = True) -> bool:
    """Launch each agent in order; True if the profile limit refused one."""
    from tutti.budget import check as budget_check
    from tutti.errors import BudgetError

    refused = False
    blocked: list[BudgetError] = []
    for cfg in agents:
        session = ws.session_name(cfg.name)
        runtime = ws.config.resolved_runtime(cfg)
        if not runtime:
            raise ConfigError(f"{ws.config_path}: agent '{cfg.name}' has no runtime (set runtime on agent or in [defaults])",
                              hint='add runtime = "claude-code" (or another runtime) to the agent or [defaults]')
        pane = backend.pane(session)
        if pane is not None and not pane.dead:
            result.skipped.append({"agent": cfg.name, "reason": "already running"})
            continue
        if pane is not None and pane.dead:
            result.warnings.append(f"{cfg.name}: previous session had exited (status {pane.dead_status}); relaunching")
            backend.kill(session)
        if limit is not None and sessions_on_profile(gc, profile_name, backend, ws) >= limit:
            result.warnings.append(f"{cfg.name}: profile '{profile_name}' reached max_concurrent ({limit}); not launched")
            result.skipped.append({"agent": cfg.name, "reason": f"profile '{profile_name}' at max_concurrent {limit}"})
            refused = True
            continue
        try:  # inventory §9.1: the budget is checked per agent before `up`
            result.warnings.extend(budget_check(ws, "up", cfg.name, gc=gc).warnings)
        except BudgetError as exc:
            if len(agents) == 1:
                raise
            blocked.append(exc)
            result.warnings.append(f"{cfg.name}: {exc.message}")
            result.skipped.append({"agent": cfg.name, "reason": exc.message})
            continue
        launched = _launch(ws, cfg, runtime, session, backend, fresh=fresh_worktree or cfg.fresh_worktree, mode=mode,
                           policy=policy, allow_rules=allow_rules, profile=profile, warnings=result.warnings,
                           gc=gc if rotate else None)
        result.launched.append(launched)
    if blocked and not result.launched:
        raise blocked[0]  # nothing started and the budget blocked at least one: fail, not a silent no-op
    return refused


def _launch(ws: Workspace, cfg: Agent, runtime: str, session: str, backend: SessionBackend, *, fresh: bool,
            mode: str, policy: str, allow_rules: list[str], profile: Profile | None, warnings: list[str],
            gc: GlobalConfig | None = None) -> LaunchedAgent:
    adapter = adapter_for(ws, cfg.name)
    branch: str | None = None
    workdir = ws.root
    if ws.config.uses_worktree(cfg):
        wt = worktree.prepare(ws.root, ws.state_dir, cfg.name, cfg.branch_name(), fresh=fresh)
        warnings.extend(wt.warnings)
        workdir, branch = wt.workdir, wt.branch
    injection = memory.inject(ws.root, cfg.name, cfg.memory, runtime, workdir, cfg.prompt, in_worktree=branch is not None)
    if injection.injected_file:
        worktree.record_injected(ws.state_dir, cfg.name, injection.injected_file)
    if injection.note:
        warnings.append(f"{cfg.name}: {injection.note}")
    bypass = mode == "unattended" and policy == "bypass"
    attempts = launch_profiles(gc, profile)
    for i, attempt in enumerate(attempts):
        command = attempt.command if attempt and attempt.command and _compatible(runtime, attempt) else None
        env = _session_env(ws, cfg, runtime, workdir, attempt, bypass)
        ctx = LaunchContext(agent=cfg.name, workspace=ws.name, workdir=workdir, state_dir=ws.state_dir, command=command,
                            prompt=injection.prompt, mode=mode, policy=policy, allow_rules=allow_rules, env=env)
        spec = adapter.build_launch(ctx)
        session_env = {**env, **spec.env}
        _require_binary(runtime, spec.argv, session_env.get("PATH"))
        if i == 0:
            warnings.extend(f"{cfg.name}: {n}" for n in spec.notes)
        _record_policy(ws, cfg.name, runtime, mode, policy, spec.enforcement, len(allow_rules), spec.argv)
        backend.create(session, spec.argv, cwd=workdir, env=session_env)
        if i + 1 < len(attempts):
            failure = launch_failure(backend, session, adapter)
            if failure:
                backend.kill(session)
                warnings.append(f"{cfg.name}: launch failed on profile '{attempt.name}' ({failure}); trying next profile")
                ws.store.append_event("agent.launch_failed", agent=cfg.name,
                                      data={"profile": attempt.name, "reason": failure, "next": attempts[i + 1].name})
                continue
        break
    started = now_iso()
    agent_state.update_state(ws.state_dir, cfg.name, name=cfg.name, runtime=runtime, session_name=session,
                             worktree_path=str(workdir) if branch else None, branch=branch, state=AgentState.UNKNOWN,
                             status="Starting", started_at=started, stopped_at=None, evidence=[], detail=None,
                             profile=attempt.name if attempt else None)
    ws.store.append_event("agent.started", agent=cfg.name,
                          correlation_id=f"launch-{int(time.time() * 1000)}-{cfg.name}",
                          data={"runtime": runtime, "session_name": session, "mode": mode, "policy": policy,
                                "enforcement": spec.enforcement, "workdir": str(workdir), "branch": branch,
                                "profile": attempt.name if attempt else None})
    return LaunchedAgent(cfg.name, runtime, session, str(workdir), branch, spec.enforcement,
                         attempt.name if attempt else None)


def launch_profiles(gc: GlobalConfig | None, profile: Profile | None) -> list[Profile | None]:
    """The default profile, then — only when `[resilience]` enables rotation — the other profiles
    of the same provider by `priority`, then name (inventory §1 `up` step 6)."""
    if gc is None or profile is None or not gc.resilience.rotation_enabled():
        return [profile]
    others = [p for p in gc.profiles if p.name != profile.name and p.provider == profile.provider]
    others.sort(key=lambda p: (p.priority if p.priority is not None else 1 << 30, p.name))
    return [profile, *others]


def launch_failure(backend: SessionBackend, session: str, adapter) -> str | None:
    """Wait (event-driven, up to LAUNCH_CHECK_SECS) until the new agent is ready or clearly
    failed; the failure reason (auth_failed, rate_limited, provider_down, stopped) or None."""
    from tutti.runtimes.settle import wait_for_settle

    res = wait_for_settle(backend, session, adapter, timeout_secs=LAUNCH_CHECK_SECS, idle_stable_secs=0.75,
                          require_activity=False)
    if res.outcome in ("auth_failed", "rate_limited", "provider_down", "stopped"):
        return res.outcome + (f": {res.detail}" if res.detail else "")
    return None


def _require_binary(runtime: str, argv: list[str], session_env_path: str | None) -> None:
    """Fail before creating a session whose program cannot start (the original's check)."""
    import os
    import shutil

    if not argv:
        raise SessionError(f"runtime '{runtime}' produced an empty launch command")
    program = argv[0]
    found = (os.access(program, os.X_OK) if os.sep in program
             else shutil.which(program, path=session_env_path or os.environ.get("PATH")))
    if not found:
        raise SessionError(f"runtime '{runtime}' is not installed or not on PATH ({program})",
                           hint="install it, or point a profile `command` / [[runtime]] command at the binary")


# -- down -------------------------------------------------------------------------------------
def down(ws: Workspace, agent: str | None = None, *, clean: bool = False,
         backend: SessionBackend | None = None, on_stopped: Callable[[str], list[str]] | None = None) -> DownResult:
    """Stop one agent (or all, dependents first); `clean` also removes worktrees + tutti branches.
    `on_stopped(agent)` runs after each stop (the `agent_stop` hooks): its failure messages are kept."""
    backend = backend or default_backend()
    agents = [find_agent(ws, agent)] if agent else list(reversed(start_order(ws)))
    result = DownResult(workspace=ws.name)
    for cfg in agents:
        session = ws.session_name(cfg.name)
        if backend.exists(session):
            agent_state.update_state(ws.state_dir, cfg.name, state=AgentState.STOPPED, status="Stopped",
                                     stopped_at=now_iso(), detail="stopped by tt down")
            backend.kill(session)
            ws.store.append_event("agent.stopped", agent=cfg.name, data={"reason": "manual", "session_name": session})
            result.stopped.append(cfg.name)
            if on_stopped is not None:
                result.hook_failures.extend(on_stopped(cfg.name))
        if clean and ws.config.uses_worktree(cfg):
            removed = worktree.remove(ws.root, ws.state_dir, cfg.name, cfg.branch_name())
            result.warnings.extend(removed.warnings)
            if removed.removed or removed.branch_deleted:
                result.cleaned.append(removed.to_dict())
    return result
