"""Step executors, registered by step type.

The executor interface (what a new step type implements — the engine never changes):

    def execute(ctx: StepContext, step: ResolvedStep) -> StepOutcome
        Run the step. Return an outcome, or raise TuttiError (recorded as a failed outcome with
        its message). Must honour `ctx.cancel` (a threading.Event) for anything long-running.

    def already_done(ctx: StepContext, step: ResolvedStep, intent: dict) -> bool   (optional)
        Compensator preflight used on `tt run --resume`: the step has a recorded intent but no
        successful outcome (the process died mid-step). Return True when its side effect is
        already in place (e.g. the branch is merged, the review packet exists) so the engine
        records it as done instead of replaying it.

Optional `plan_intent(ctx, step, intent) -> dict` lets an executor add facts to the intent
before it is committed (the nested-workflow executor records its child run id there).

Executors live in `tutti.workflows.steps.<type>` modules and are imported lazily: `prompt`,
`ensure_running`, `review` and `land` come with the agent-sessions layer; until a module
exists the step fails with a clear error. Prompt steps of API-direct agents (`provider` set,
and no runtime or `--direct`) go to `tutti.direct.step.run_prompt_step(ctx, step)`.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from tutti.errors import TuttiError

if TYPE_CHECKING:
    from tutti.workflows.outputs import Outputs
    from tutti.workflows.plan import ResolvedStep
    from tutti.workflows.settings import EngineSettings
    from tutti.workspace import Workspace

STATUSES = ("success", "warning", "failed", "timed_out", "cancelled", "skipped")
DONE_STATUSES = ("success", "warning", "skipped")  # a resumed run does not replay these

EXECUTOR_MODULES: dict[str, str] = {
    "command": "tutti.workflows.steps.command",
    "workflow": "tutti.workflows.steps.workflow",
    "prompt": "tutti.workflows.steps.prompt",
    "ensure_running": "tutti.workflows.steps.ensure_running",
    "review": "tutti.workflows.steps.review",
    "land": "tutti.workflows.steps.land",
}
DIRECT_PROMPT = "tutti.direct.step"


@dataclass
class StepOutcome:
    """What a step did. `status` is one of STATUSES; the engine maps failures to `warning`
    when the step's fail mode is open. Outputs the step produced (`ctx.outputs.store(...)`)
    must also be returned in `outputs`: that is what a resumed run reloads."""

    status: str
    message: str = ""
    exit_code: int | None = None
    timed_out: bool = False
    duration: float = 0.0  # seconds
    outputs: dict[str, str] = field(default_factory=dict)  # output id -> stored JSON file path
    side_effects: dict[str, Any] = field(default_factory=dict)
    attempts: int = 1
    log_path: str | None = None
    output_tail: str = ""
    hint: str | None = None  # the fix for a failed step (a TuttiError's hint), carried to the run's error

    @property
    def ok(self) -> bool:
        return self.status in DONE_STATUSES

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "success": self.ok, "message": self.message, "exit_code": self.exit_code,
                "timed_out": self.timed_out, "duration_ms": int(self.duration * 1000), "outputs": self.outputs,
                "side_effects": self.side_effects, "attempts": self.attempts, "log_path": self.log_path,
                "output_tail": self.output_tail, "hint": self.hint}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StepOutcome:
        return cls(status=d.get("status", "failed"), message=d.get("message", ""), exit_code=d.get("exit_code"),
                   timed_out=bool(d.get("timed_out")), duration=(d.get("duration_ms") or 0) / 1000,
                   outputs=dict(d.get("outputs") or {}), side_effects=dict(d.get("side_effects") or {}),
                   attempts=d.get("attempts", 1), log_path=d.get("log_path"), output_tail=d.get("output_tail", ""),
                   hint=d.get("hint"))


@dataclass
class StepContext:
    """What an executor may use. Everything is explicit: no globals, no chdir."""

    workspace: Workspace
    run_id: str
    workflow: str
    origin: str
    strict: bool
    agent_scope: str | None
    outputs: Outputs
    cancel: threading.Event
    settings: EngineSettings
    log_dir: Path
    emit: Callable[..., Any]  # emit(kind, data=None, agent=None, step=None) -> Event in the store
    direct: bool = False
    stack: tuple[str, ...] = ()  # workflow names from the outermost run down (nested-cycle guard)
    intent: dict[str, Any] = field(default_factory=dict)  # this attempt's recorded intent
    prior_intent: dict[str, Any] | None = None  # on resume: the intent recorded before the crash
    attempt: int = 1
    # Register a callback the engine calls once when this run's steps are over (before its
    # workflow_complete hooks), e.g. to reclaim agent sessions the run started.
    at_run_end: Callable[[Callable[[], None]], None] = lambda fn: None
    # Append bytes to a file off the step's thread (the engine's mirror writer: written within
    # ~10 ms and before the run ends, lost if tt is killed first). None: write it yourself.
    append_later: Callable[[Path, bytes], None] | None = None
    # Held while a bounded step's own processes run, when its executor module sets
    # SELF_SLOTTED = True (the run's executor then bounds only that part, not the step's
    # Python around it); otherwise the executor holds the slot for the whole step.
    slot: Callable[[], AbstractContextManager[Any]] = nullcontext

    def sleep(self, seconds: float) -> bool:
        """Wait that long unless cancelled; True when cancelled."""
        return self.cancel.wait(seconds) if seconds > 0 else self.cancel.is_set()


class Executor(Protocol):
    def execute(self, ctx: StepContext, step: ResolvedStep) -> StepOutcome: ...


class _NotBuilt:
    """Stands in for an executor module nobody has provided yet."""

    def __init__(self, message: str, hint: str) -> None:
        self.message, self.hint = message, hint

    def execute(self, ctx: StepContext, step: ResolvedStep) -> StepOutcome:
        raise TuttiError(self.message, hint=self.hint)


class _DirectPrompt:
    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def execute(self, ctx: StepContext, step: ResolvedStep) -> StepOutcome:
        return self.module.run_prompt_step(ctx, step)


def import_optional(module_name: str) -> ModuleType | None:
    loaded = sys.modules.get(module_name)  # the common case, every step: no import machinery
    # ...but a module another thread is still executing is in sys.modules half-built: let the
    # import system wait for it (its per-module lock) instead of handing out missing attributes.
    if loaded is not None and not getattr(getattr(loaded, "__spec__", None), "_initializing", False):
        return loaded
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only "this module does not exist" means not built; a broken import inside it is a bug.
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            return None
        raise


def uses_direct(ctx: StepContext, step: ResolvedStep) -> bool:
    """API-direct prompt: the agent has a provider, and either no CLI runtime or `--direct`."""
    if step.type != "prompt" or step.agent is None:
        return False
    agent = ctx.workspace.config.agent(step.agent)
    if agent is None or not agent.provider:
        return False
    return ctx.direct or not ctx.workspace.config.resolved_runtime(agent)


def executor_for(ctx: StepContext, step: ResolvedStep) -> Any:
    """The executor (module or object with `execute`) for this step."""
    if uses_direct(ctx, step):
        module = import_optional(DIRECT_PROMPT)
        if module is None or not hasattr(module, "run_prompt_step"):
            return _NotBuilt(f"step {step.label}: API-direct prompt steps need tutti.direct.step (not built yet)",
                             "give the agent a CLI runtime, or wait for the API-direct layer")
        return _DirectPrompt(module)
    module_name = EXECUTOR_MODULES.get(step.type)
    module = import_optional(module_name) if module_name else None
    if module is None or not hasattr(module, "execute"):
        return _NotBuilt(f"step type '{step.type}' needs the agent-sessions layer (not built yet)",
                         f"remove step {step.index} from the workflow or use a command step for now")
    return module


def now() -> float:
    return time.monotonic()
