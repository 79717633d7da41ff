"""Rules for `[[workflow]]` tables and their steps (inventory §2.3 "workflows" … "depends_on").

Messages keep the original's `workflow '{w}', step {n} …` wording (steps count from 1).
`depends_on` is allowed on every step type; invalid, self, duplicate and cyclic references
are still rejected. Steps without `depends_on` implicitly follow the previous step.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tutti.config import keypath
from tutti.config.models import (
    CommandStep,
    EnsureRunningStep,
    LandStep,
    PromptStep,
    ReviewStep,
    TuttiConfig,
    Workflow,
    WorkflowStep,
)
from tutti.config.problems import Problem, has_cycle, listing, relative_path_problem

_ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def workflow_problems(config: TuttiConfig) -> Iterator[Problem]:
    names: set[str] = set()
    for i, wf in enumerate(config.workflows, start=1):
        if not wf.name.strip():
            yield Problem(f"workflow[{i}] → name", "workflow name cannot be empty", "give every [[workflow]] a name")
            continue
        if wf.name in names:
            yield Problem(keypath.workflow_path(wf.name, "name"), f"duplicate workflow name: '{wf.name}'",
                          "workflow names must be unique: rename or remove one of them")
        names.add(wf.name)

    agents = {a.name for a in config.agents}
    for wf in config.workflows:
        if not wf.name.strip():
            continue
        ctx = _Context(wf, agents, names)
        if not wf.steps:
            yield Problem(keypath.workflow_path(wf.name), f"workflow '{wf.name}' must have at least one step",
                          "add a [[workflow.step]] table (e.g. type = \"command\", run = \"...\")")
        yield from _schedule_problems(wf)
        for index, step in enumerate(wf.steps, start=1):
            yield from ctx.step_problems(index, step)
        yield from _depends_on_problems(wf)
    yield from _nesting_problems(config)


def _schedule_problems(wf: Workflow) -> Iterator[Problem]:
    if wf.schedule is not None:
        where = keypath.workflow_path(wf.name, "schedule")
        schedule = wf.schedule.strip()
        if not schedule:
            yield Problem(where, f"workflow '{wf.name}' has empty schedule",
                          "use a 5-field cron expression such as \"0 9 * * 1-5\", or remove schedule")
        else:
            why = _cron_problem(schedule)
            if why:
                yield Problem(where, f"workflow '{wf.name}' has invalid schedule '{schedule}': {why}",
                              "use 5 fields: minute hour day-of-month month day-of-week, e.g. \"*/30 * * * *\"")
    if wf.timezone is not None:
        why = _timezone_problem(wf.timezone)
        if why:
            yield Problem(keypath.workflow_path(wf.name, "timezone"),
                          f"workflow '{wf.name}' has invalid timezone '{wf.timezone}': {why}",
                          "use an IANA zone name such as \"UTC\" or \"Europe/Berlin\"")


def _cron_problem(expr: str) -> str | None:
    if len(expr.split()) != 5:
        return "expected 5-field cron expression (minute hour dom month dow)"
    from croniter import croniter

    try:
        croniter(expr)
    except Exception as exc:  # noqa: BLE001 — croniter raises a zoo of types (ValueError, KeyError, …) for bad input
        return f"cron parse failed: {exc}"
    return None


def _timezone_problem(name: str) -> str | None:
    from zoneinfo import ZoneInfo

    if not name.strip():
        return "empty time zone name"
    try:
        ZoneInfo(name)
    except Exception:  # noqa: BLE001 — ZoneInfoNotFoundError, ValueError, OSError for odd names
        return "unknown IANA time zone"
    return None


class _Context:
    """What the step rules of one workflow need to know about the rest of the file."""

    def __init__(self, wf: Workflow, agents: set[str], workflows: set[str]) -> None:
        self.wf = wf
        self.agents = agents
        self.workflows = workflows
        self.ids: set[str] = set()

    def _p(self, index: int, step_type: str, key: str, text: str, hint: str) -> Problem:
        return Problem(keypath.step_path(self.wf.name, index, step_type, key),
                       f"workflow '{self.wf.name}', step {index} {text}", hint)

    def step_problems(self, index: int, step) -> Iterator[Problem]:
        kind = step.type
        if isinstance(step, PromptStep):
            yield from self._prompt(index, step)
        elif isinstance(step, CommandStep):
            yield from self._command(index, step)
        elif isinstance(step, WorkflowStep):
            yield from self._nested(index, step)
        elif isinstance(step, ReviewStep):
            yield from self._agent_ref(index, kind, "agent", step.agent)
            if "reviewer" in step.model_fields_set and step.reviewer not in self.agents:
                yield self._p(index, kind, "reviewer", f"references unknown reviewer agent '{step.reviewer}'",
                              f"use one of the declared agents: {listing(self.agents)}")
        elif isinstance(step, (EnsureRunningStep, LandStep)):
            yield from self._agent_ref(index, kind, "agent", step.agent)
        yield from self._id_and_output(index, step)

    def _agent_ref(self, index: int, kind: str, key: str, agent: str) -> Iterator[Problem]:
        if agent not in self.agents:
            yield self._p(index, kind, key, f"references unknown agent '{agent}'",
                          f"use one of the declared agents: {listing(self.agents)}")

    def _prompt(self, index: int, s: PromptStep) -> Iterator[Problem]:
        k = "prompt"
        if not s.wait_for_idle and s.artifact_glob is None and (
                s.wait_timeout_secs is not None or s.startup_grace_secs is not None):
            yield self._p(index, k, "wait_for_idle",
                          "sets wait_timeout_secs/startup_grace_secs but wait_for_idle is false; "
                          "set wait_for_idle = true or remove the wait settings",
                          "add wait_for_idle = true (or artifact_glob to wait for a file)")
        yield from self._agent_ref(index, k, "agent", s.agent)
        if not s.text.strip():
            yield self._p(index, k, "text", "has empty prompt text", "write the prompt in text = \"...\"")
        for n, path in enumerate(s.inject_files, start=1):
            if not path.strip():
                yield self._p(index, k, f"inject_files[{n}]", "has empty inject_files entry", "remove the empty entry")
            elif relative_path_problem(path) == "absolute":
                yield self._p(index, k, f"inject_files[{n}]",
                              f"inject_files must be workspace-relative: '{path.strip()}'",
                              "use a path relative to the workspace root")
        if (s.artifact_glob is None) != (s.artifact_name is None):
            yield self._p(index, k, "artifact_glob" if s.artifact_glob is None else "artifact_name",
                          "must set both artifact_glob and artifact_name, or neither",
                          "artifact_glob says which file to wait for, artifact_name names it for later steps")
        if s.artifact_name is not None and s.id is None:
            yield self._p(index, k, "id", "uses artifact_name but is missing id", "add id = \"<step id>\"")
        if s.artifact_glob is not None and not s.artifact_glob.strip():
            yield self._p(index, k, "artifact_glob", "has empty artifact_glob", "set a glob such as \"docs/*-design.md\"")
        if s.artifact_name is not None:
            if not s.artifact_name.strip():
                yield self._p(index, k, "artifact_name", "has empty artifact_name", "set a name such as \"design_doc\"")
            elif not _ARTIFACT_NAME.match(s.artifact_name):
                yield self._p(index, k, "artifact_name",
                              f"artifact_name '{s.artifact_name}' contains invalid characters; "
                              "only [A-Za-z0-9_-] are allowed", "rename it using letters, digits, _ and -")
        if s.wait_timeout_secs is not None and s.wait_timeout_secs <= 0:
            yield self._p(index, k, "wait_timeout_secs", "wait_timeout_secs must be > 0", "use a positive number of seconds")

    def _command(self, index: int, s: CommandStep) -> Iterator[Problem]:
        k = "command"
        if not s.run.strip():
            yield self._p(index, k, "run", "has empty command", "set run to the shell command to execute")
        if s.subdir is not None:
            subdir = s.subdir.strip()
            if not subdir:
                yield self._p(index, k, "subdir", "has empty subdir", "remove subdir or name a directory")
            elif relative_path_problem(subdir) == "absolute":
                yield self._p(index, k, "subdir", f"subdir must be workspace-relative: '{subdir}'",
                              "use a directory relative to the workspace (or agent worktree) root")
            elif relative_path_problem(subdir) == "parent":
                yield self._p(index, k, "subdir", f"subdir must not contain '..': '{subdir}'",
                              "the step's directory must stay inside the workspace")
        if s.agent is not None:
            yield from self._agent_ref(index, k, "agent", s.agent)
        if s.timeout_secs <= 0:
            yield self._p(index, k, "timeout_secs", "timeout_secs must be > 0", "use a positive number of seconds")

    def _nested(self, index: int, s: WorkflowStep) -> Iterator[Problem]:
        k = "workflow"
        if not s.workflow.strip():
            yield self._p(index, k, "workflow", "has empty nested workflow name", "set workflow to another workflow's name")
        elif s.workflow not in self.workflows:
            yield self._p(index, k, "workflow", f"references unknown workflow '{s.workflow}'",
                          f"use one of the declared workflows: {listing(self.workflows)}")
        if s.agent is not None:
            yield from self._agent_ref(index, k, "agent", s.agent)

    def _id_and_output(self, index: int, s) -> Iterator[Problem]:
        kind = s.type
        # only prompt/command steps have output_json; elsewhere it is an (unknown) extra key
        output_json = s.output_json if "output_json" in type(s).model_fields else None
        if output_json is not None and s.id is None:
            yield self._p(index, kind, "output_json", "uses output_json but is missing id", "add id = \"<step id>\"")
        if s.id is not None:
            step_id = s.id.strip()
            if not step_id:
                yield self._p(index, kind, "id", "has empty id", "remove id or give it a value")
            elif step_id in self.ids:
                yield Problem(keypath.step_path(self.wf.name, index, kind, "id"),
                              f"workflow '{self.wf.name}' has duplicate step id '{step_id}'",
                              "step ids must be unique within a workflow")
            self.ids.add(step_id)
        if output_json is not None:
            if not output_json.strip():
                yield self._p(index, kind, "output_json", "has empty output_json", "name the JSON file the step writes")
            elif relative_path_problem(output_json):
                yield self._p(index, kind, "output_json", f"output_json must stay inside the workspace: '{output_json}'",
                              "use a relative path without '..'")


def _depends_on_problems(wf: Workflow) -> Iterator[Problem]:
    if not any(step.depends_on for step in wf.steps):
        return
    count = len(wf.steps)
    graph: dict[int, list[int]] = {}
    for idx, step in enumerate(wf.steps, start=1):
        where = keypath.step_path(wf.name, idx, step.type, "depends_on")
        deps = step.depends_on if step.depends_on is not None else ([idx - 1] if idx > 1 else [])
        seen: set[int] = set()
        for dep in deps:
            if dep < 1 or dep > count:
                yield Problem(where, f"workflow '{wf.name}', step {idx} depends_on references invalid step {dep}",
                              f"depends_on lists step numbers from 1 to {count}")
            elif dep == idx:
                yield Problem(where, f"workflow '{wf.name}', step {idx} cannot depend on itself",
                              f"remove {idx} from its own depends_on")
            elif dep in seen:
                yield Problem(where, f"workflow '{wf.name}', step {idx} has duplicate depends_on step {dep}",
                              f"list step {dep} once")
            seen.add(dep)
        graph[idx] = [d for d in seen if 1 <= d <= count and d != idx]
    if has_cycle(graph):
        yield Problem(keypath.workflow_path(wf.name, "depends_on"), f"workflow '{wf.name}' has cyclic depends_on graph",
                      "steps must form a DAG: remove a depends_on entry that points back to a later step")


def _nesting_problems(config: TuttiConfig) -> Iterator[Problem]:
    """A workflow that (transitively) runs itself would recurse forever."""
    calls = {wf.name: [s.workflow for s in wf.steps if isinstance(s, WorkflowStep)] for wf in config.workflows}
    reported: set[str] = set()
    for start in calls:
        chain = _find_loop(start, calls)
        if chain and chain[0] not in reported:
            reported.update(chain)
            yield Problem(keypath.workflow_path(start), f"workflow '{start}' runs itself through nested workflow steps "
                          f"({' → '.join(chain)})", "remove the workflow step that closes the loop")


def _find_loop(start: str, calls: dict[str, list[str]]) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    visited: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in calls.get(node, []):
            if nxt == start:
                return path + [start]
            if nxt not in visited and nxt in calls:
                visited.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None
