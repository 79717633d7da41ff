"""`[[hook]]`s: `workflow_complete` (after every run) and `agent_stop` (fired by `tt down`).

A hook runs either a workflow (a run of its own, origin `hook_workflow_complete` /
`hook_agent_stop`) or one command in the workspace root. Fail mode `open` (default) downgrades
a failure to a recorded warning; `closed` makes it fail the parent. Runs that a
`workflow_complete` hook started never fire `workflow_complete` hooks themselves (recursion
guard), and a hook naming a workflow already on the current call stack is refused.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from tutti import proc
from tutti.errors import TuttiError

if TYPE_CHECKING:
    from tutti.config.models import Hook
    from tutti.workflows.engine import RunResult  # the type only
    from tutti.workflows.settings import EngineSettings
    from tutti.workspace import Workspace

# workflows.engine.run_named, passed in by the engine (its one call site of this module: the
# engine fires hooks and a hook may run a workflow, so the two recurse by nature; passing the
# runner keeps the import graph one-way, engine -> hooks).
WorkflowRunner = Callable[..., Any]


@dataclass
class HookResult:
    event: str
    action: str  # "workflow:NAME" or "run:COMMAND"
    fail_mode: str
    success: bool
    message: str
    run_id: str | None = None

    @property
    def failed_closed(self) -> bool:
        return not self.success and self.fail_mode == "closed"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def workflow_complete_hooks(ws: Workspace, result: RunResult) -> list[Hook]:
    hooks = []
    for hook in ws.config.hooks:
        if hook.event != "workflow_complete":
            continue
        if hook.workflow_source and hook.workflow_source != result.origin:
            continue
        if hook.workflow_name and hook.workflow_name != result.workflow:
            continue
        if hook.agent and hook.agent != result.agent_scope:
            continue
        hooks.append(hook)
    return hooks


def fire_workflow_complete(ws: Workspace, result: RunResult, *, run_workflow: WorkflowRunner,
                           settings: EngineSettings | None = None, cancel: threading.Event | None = None,
                           stack: tuple[str, ...] = ()) -> list[HookResult]:
    """Run matching workflow_complete hooks; record them on `result` (a closed failure fails it)."""
    env = {"TUTTI_HOOK_EVENT": "workflow_complete", "TUTTI_RUN_ID": result.run_id,
           "TUTTI_WORKFLOW": result.workflow, "TUTTI_RUN_STATUS": result.status,
           "TUTTI_RUN_SUCCESS": "1" if result.success else "0"}
    results = []
    for hook in workflow_complete_hooks(ws, result):
        res = _run_hook(ws, hook, "workflow_complete", origin="hook_workflow_complete", agent=result.agent_scope,
                        env=env, settings=settings, cancel=cancel, stack=stack, parent_run_id=result.run_id,
                        run_workflow=run_workflow)
        results.append(res)
        result.hooks.append(res.to_dict())
        if res.failed_closed:
            result.status = "failed"
            result.error = f"workflow_complete hook failed for workflow '{result.workflow}': {res.message}"
    return results


def fire_agent_stop(ws: Workspace, agent: str, *, run_workflow: WorkflowRunner,
                    cancel: threading.Event | None = None) -> list[HookResult]:
    """Run the `agent_stop` hooks for `agent` (called by `tt down` after the session is gone,
    through `workflows.engine.fire_agent_stop`, which passes the engine's `run_named`).

    Returns every hook's result; callers should report `failed_closed` ones as errors
    (`hook_failure_message(results)`)."""
    env = {"TUTTI_HOOK_EVENT": "agent_stop", "TUTTI_AGENT": agent}
    results = []
    for hook in ws.config.hooks:
        if hook.event == "agent_stop" and (hook.agent is None or hook.agent == agent):
            results.append(_run_hook(ws, hook, "agent_stop", origin="hook_agent_stop", agent=agent, env=env,
                                     settings=None, cancel=cancel, stack=(), parent_run_id=None,
                                     run_workflow=run_workflow))
    return results


def hook_failure_message(results: list[HookResult]) -> str | None:
    failed = [r.message for r in results if r.failed_closed]
    return f"hook failures: {'; '.join(failed)}" if failed else None


def _run_hook(ws: Workspace, hook: Hook, event: str, *, origin: str, agent: str | None, env: dict[str, str],
              settings: EngineSettings | None, cancel: threading.Event | None, stack: tuple[str, ...],
              parent_run_id: str | None, run_workflow: WorkflowRunner) -> HookResult:
    if hook.workflow:
        action = f"workflow:{hook.workflow}"
        if hook.workflow in stack:
            res = HookResult(event, action, hook.fail_mode, False,
                             f"hook workflow '{hook.workflow}' is already running in this chain ({' → '.join(stack)}); not started again")
        else:
            res = _run_workflow_hook(ws, hook, event, action, origin=origin, agent=agent, settings=settings,
                                     cancel=cancel, stack=stack, parent_run_id=parent_run_id,
                                     run_workflow=run_workflow)
    else:
        res = _run_command_hook(ws, hook, event, env, cancel)
    ws.store.append_event(f"hook.{'completed' if res.success else 'failed'}", agent=agent, run_id=res.run_id or parent_run_id,
                          data={"event": event, "action": res.action, "fail_mode": res.fail_mode,
                                "success": res.success, "message": res.message})
    return res


def _run_workflow_hook(ws: Workspace, hook: Hook, event: str, action: str, *, origin: str, agent: str | None,
                       settings: EngineSettings | None, cancel: threading.Event | None, stack: tuple[str, ...],
                       parent_run_id: str | None, run_workflow: WorkflowRunner) -> HookResult:
    # The hook's agent scope only applies when that agent exists (workflow_complete of an unscoped run → None).
    scope = agent if agent and ws.config.agent(agent) else None
    try:
        run = run_workflow(ws, hook.workflow, agent=scope, origin=origin, cancel=cancel, stack=stack,
                        settings=settings, parent_run_id=parent_run_id)
    except TuttiError as exc:
        return HookResult(event, action, hook.fail_mode, False, f"{action}: {exc.message}")
    message = f"nested workflow '{hook.workflow}' {'succeeded' if run.success else 'failed'} (run {run.run_id})"
    return HookResult(event, action, hook.fail_mode, run.success, message, run.run_id)


def _run_command_hook(ws: Workspace, hook: Hook, event: str, env: dict[str, str],
                      cancel: threading.Event | None) -> HookResult:
    command = hook.run or ""
    action = f"run:{command}"
    full_env = dict(os.environ)
    full_env.update(ws.config.workspace.env.variables())
    full_env.update(env, TUTTI_WORKSPACE=ws.name, TUTTI_WORKSPACE_ROOT=str(ws.root))
    res = proc.run(proc.shell_argv(command), cwd=ws.root, env=full_env, timeout=hook.timeout_secs, cancel=cancel)
    if res.ok:
        return HookResult(event, action, hook.fail_mode, True, "ok")
    why = f"timed out after {hook.timeout_secs}s" if res.timed_out else f"exit {res.returncode}"
    tail = (res.stderr.strip() or res.stdout.strip()).splitlines()[-1:] or [""]
    return HookResult(event, action, hook.fail_mode, False, f"hook command failed ({why}): {command} {tail[0]}".rstrip())
