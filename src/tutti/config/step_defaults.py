"""The defaults a workflow step gets when a key is left out, and the warning for the unsafe one.

The original's defaults are kept so its configs mean the same (`wait_for_idle = false`,
command `fail_mode = "open"`), but they make the obvious pipeline — prompt, check, land — run
its check 0.2 s after the prompt was *sent*, fail as a warning, and report success. So every
default in effect is stated (`tt run --dry-run`, README "Workflow step defaults"), and a step
that consumes a non-waiting prompt step's result is a config warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tutti.config import keypath

# key -> (default, what it means), per step type; only keys whose default changes behaviour.
DEFAULTS: dict[str, dict[str, tuple[Any, str]]] = {
    "prompt": {
        "wait_for_idle": (False, "the step ends once the prompt is delivered, not when the agent finishes"),
        "wait_timeout_secs": (900, "how long wait_for_idle waits for the agent to go idle"),
        "startup_grace_secs": (30, "time allowed for a just-started agent to become ready"),
    },
    "command": {
        "fail_mode": ("open", "a failing command is a warning and the run continues (unless --strict)"),
        "timeout_secs": (900, "the command is killed after this long"),
        "cwd": ("workspace", "runs in the workspace root"),
        "idempotent": (False, "each try runs under a step supervisor; a resumed run adopts an in-flight try"),
    },
    "ensure_running": {"fail_mode": ("closed", "a failure fails the run")},
    "workflow": {"fail_mode": ("closed", "a failure fails the run")},
    "review": {"fail_mode": ("closed", "a failure fails the run"),
               "reviewer": ("reviewer", "the agent asked for the verdict"),
               "wait_timeout_secs": (1800, "how long to wait for the verdict")},
    "land": {"fail_mode": ("closed", "a failure fails the run")},
}

# Step types that act on what an earlier prompt step produced.
_CONSUMERS = ("command", "land", "review")


def implicit_defaults(step: Any) -> dict[str, Any]:
    """The keys this step left out and the default value each one takes."""
    table = DEFAULTS.get(getattr(step, "type", ""), {})
    given = step.model_fields_set
    return {key: value for key, (value, _) in table.items() if key not in given}


def workflow_warnings(config: Any, file: str) -> list[str]:
    """One line per step that depends on a prompt step which does not wait for the agent."""
    return [f"{file}: {line}" for wf in config.workflows for line in _unwaited(wf)]


def _unwaited(wf: Any) -> Iterator[str]:
    steps = list(wf.steps)
    for index, step in enumerate(steps, start=1):
        if step.type not in _CONSUMERS:
            continue
        deps = step.depends_on if step.depends_on is not None else ([index - 1] if index > 1 else [])
        for dep in deps:
            if not 1 <= dep <= len(steps) or dep == index:
                continue  # invalid references are reported by the validation rules
            before = steps[dep - 1]
            if before.type == "prompt" and not before.wait_for_idle:
                where = keypath.step_path(wf.name, index, step.type)
                yield (f"{where} depends on prompt step {dep}, which does not wait for the agent to finish "
                       f"(wait_for_idle defaults to false), so it will run while the agent is still working — "
                       f"set wait_for_idle = true on step {dep}")
