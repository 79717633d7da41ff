"""Cross-field rules of tutti.toml (inventory §2.3), each with the original's exact message.

Every rule is a generator of `Problem`s, so the same code serves both callers: loading stops
at the first problem (`validate`), `tt doctor` lists them all (`validate_all`). Messages keep
the original text after the `invalid config: ` prefix; the key path and the hint are ours.

Deliberate differences from the original: known runtimes include gemini-cli, the rehearsal
`fake` runtime and any `[[runtime]]` declared in the file; API-direct agents (`provider`/
`model`) need no CLI runtime; `depends_on` is allowed on every step type; schedules are
checked with croniter and `timezone` with zoneinfo; webhook positions count from 1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tutti.config import keypath
from tutti.config.issues import ConfigIssue
from tutti.config.models import BUILTIN_RUNTIMES, CustomRuntime, TuttiConfig
from tutti.config.problems import Problem, has_cycle, listing, relative_path_problem
from tutti.config.runtime_names import FAKE_LOOKS, RUNTIME_ALIASES

PREFIX = "invalid config: "


def validate(config: TuttiConfig, file: str = "tutti.toml") -> None:
    """Raise the first problem as a ConfigValidationError (exit code 2)."""
    for issue in _issues(config, file):
        raise issue.to_error()


def validate_all(config: TuttiConfig, file: str = "tutti.toml") -> list[ConfigIssue]:
    """Every problem in the file, in the order the original would report them."""
    return list(_issues(config, file))


def _issues(config: TuttiConfig, file: str) -> Iterator[ConfigIssue]:
    from tutti.config.engine_rules import engine_problems
    from tutti.config.intake_rules import intake_problems
    from tutti.config.loop_rules import loop_problems
    from tutti.config.workflow_rules import workflow_problems

    for rules in (_workspace_problems, _runtime_problems, _agent_problems, workflow_problems, _hook_problems,
                  _tool_pack_problems, _budget_problems, _webhook_problems, _gate_problems, intake_problems, loop_problems,
                  engine_problems):
        for p in rules(config):
            yield ConfigIssue(file, p.key_path, PREFIX + p.message, p.hint)


def known_runtimes(config: TuttiConfig) -> set[str]:
    return set(BUILTIN_RUNTIMES) | {r.name for r in config.runtimes if r.name.strip()}


def is_known_runtime(name: str, known: set[str]) -> bool:
    """Declared/built-in names, the registry's aliases (`claude`) and fake looks (`fake:codex`)."""
    if name in known:
        return True
    if name in RUNTIME_ALIASES:
        return True
    if name.startswith("fake:"):
        return name.split(":", 1)[1] in FAKE_LOOKS
    return False


# -- custom runtimes ----------------------------------------------------------------------------
_PATTERN_FIELDS = ("working", "idle", "waiting", "auth_failed", "rate_limited", "provider_down")


def _runtime_problems(config: TuttiConfig) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, rt in enumerate(config.runtimes, start=1):
        if not rt.name.strip():
            yield Problem(f"runtime[{i}] → name", f"runtime[{i}] name cannot be empty",
                          "give every [[runtime]] a name; agents refer to it with runtime = \"<name>\"")
            continue
        where = f"runtime '{rt.name}'"
        if rt.name in seen:
            yield Problem(keypath.join(where, "name"), f"duplicate runtime name: '{rt.name}'",
                          "rename or remove one of the [[runtime]] tables with this name")
        seen.add(rt.name)
        if not rt.command.strip():
            yield Problem(keypath.join(where, "command"), f"runtime '{rt.name}' has empty command",
                          "set command to the CLI binary to launch, e.g. command = \"my-agent\"")
        if rt.prompt == "flag" and not (rt.prompt_flag or "").strip():
            yield Problem(keypath.join(where, "prompt_flag"),
                          f"runtime '{rt.name}' sets prompt = \"flag\" but has no prompt_flag",
                          "set prompt_flag (e.g. \"--message\") or use prompt = \"positional\"")
        if rt.submit_delay_ms < 0:
            yield Problem(keypath.join(where, "submit_delay_ms"),
                          f"runtime '{rt.name}' submit_delay_ms must be >= 0", "use 0 or a positive number")
        yield from _pattern_problems(rt, where)


def _pattern_problems(rt: CustomRuntime, where: str) -> Iterator[Problem]:
    for field in _PATTERN_FIELDS:
        for n, pattern in enumerate(getattr(rt, field), start=1):
            try:
                re.compile(pattern)
            except (re.error, RecursionError, OverflowError, ValueError) as exc:
                yield Problem(keypath.join(where, f"{field}[{n}]"),
                              f"runtime '{rt.name}' has invalid {field} pattern '{pattern}': {exc}",
                              "patterns are Python regular expressions; escape literal characters such as ( [ * + ?")


# -- agents -------------------------------------------------------------------------------------
# An agent name becomes a tmux session, a git branch and a directory under .tutti/worktrees:
# keep it a plain token so it can never escape that directory or read as a git option.
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_BAD_BRANCH = re.compile(r"(^[-/.])|(\.\.)|([\s~^:?*\[\\\x00-\x1f\x7f])|(@\{)|(/\.)|(//)|([./]$)|(\.lock$)")


def _workspace_problems(config: TuttiConfig) -> Iterator[Problem]:
    name = config.workspace.name
    if not name.strip():
        yield Problem("workspace → name", "workspace name cannot be empty",
                      "set [workspace] name = \"<project>\"; it names tmux sessions and the registry entry")
    elif not _PLAIN_NAME.match(name):
        # It names tmux sessions, the registry entry and `workspace/agent` references: a path
        # ("../evil") or a space would be registered and then misread.
        yield Problem("workspace → name", f"workspace name '{name}' must be a plain name",
                      "use letters, digits, '-', '_' and '.' (not leading '.' or '-'), e.g. name = \"my-project\"")


def _agent_problems(config: TuttiConfig) -> Iterator[Problem]:
    names = {a.name for a in config.agents}
    seen: set[str] = set()
    for i, agent in enumerate(config.agents, start=1):
        if not agent.name.strip():
            yield Problem(f"agent[{i}] → name", f"agent[{i}] name cannot be empty",
                          "give every [[agent]] a unique, non-empty name")
        elif not _PLAIN_NAME.match(agent.name) or agent.name.endswith(".lock"):
            yield Problem(keypath.agent_path(agent.name, "name"),
                          f"agent name '{agent.name}' must be a plain name (letters, digits, '.', '_', '-')",
                          "the name is used for the agent's tmux session, git branch and worktree directory")
        elif agent.name in seen:
            yield Problem(keypath.agent_path(agent.name, "name"), f"duplicate agent name: '{agent.name}'",
                          "agent names must be unique: rename or remove one of them")
        seen.add(agent.name)
        if agent.branch is not None and (not agent.branch.strip() or _BAD_BRANCH.search(agent.branch)):
            yield Problem(keypath.agent_path(agent.name, "branch"),
                          f"agent '{agent.name}' has invalid branch name '{agent.branch}'",
                          "use a git branch name such as \"tutti/backend\" (no spaces, '..', '~', '^', ':' or leading '-')")

    for agent in config.agents:
        for n, dep in enumerate(agent.depends_on, start=1):
            where = keypath.agent_path(agent.name, f"depends_on[{n}]")
            if dep not in names:
                yield Problem(where, f"agent '{agent.name}' depends on '{dep}', which does not exist",
                              f"use one of the declared agents: {listing(names)}")
        if agent.name in agent.depends_on:
            yield Problem(keypath.agent_path(agent.name, "depends_on"), f"agent '{agent.name}' depends on itself",
                          f"remove '{agent.name}' from its own depends_on")

    if _agent_cycle(config):
        yield Problem("agent → depends_on", "dependency cycle detected among agents",
                      "break the cycle: agents start in depends_on order, so the graph must be acyclic")

    yield from _role_and_runtime_problems(config)
    yield from _memory_problems(config)


def _agent_cycle(config: TuttiConfig) -> bool:
    names = {a.name for a in config.agents}
    graph = {a.name: [d for d in a.depends_on if d in names and d != a.name] for a in config.agents}
    return has_cycle(graph)


def _role_and_runtime_problems(config: TuttiConfig) -> Iterator[Problem]:
    for agent in config.agents:
        if agent.role and not agent.runtime:
            if config.roles is None:
                yield Problem(keypath.agent_path(agent.name, "role"),
                              f"agent '{agent.name}' has role '{agent.role}' but [roles] table is not defined",
                              f"add a [roles] table mapping {agent.role} = \"<runtime>\", or set runtime on the agent")
                continue
            if agent.role not in config.roles:
                yield Problem(keypath.agent_path(agent.name, "role"),
                              f"agent '{agent.name}' has role '{agent.role}' but [roles] does not define it",
                              f"add {agent.role} = \"<runtime>\" to [roles]")
                continue
    known = known_runtimes(config)
    for agent in config.agents:
        if not agent.runtime and (agent.provider or agent.model):
            continue  # API-direct agent: Tutti calls the model itself, no CLI runtime needed
        runtime = config.resolved_runtime(agent)
        if runtime is None or is_known_runtime(runtime, known):
            continue
        if agent.runtime:
            where = keypath.agent_path(agent.name, "runtime")
        elif agent.role and config.roles and agent.role in config.roles:
            where = keypath.join("roles", agent.role)
        else:
            where = keypath.join("defaults", "runtime")
        yield Problem(where, f"agent '{agent.name}' uses unknown runtime '{runtime}'",
                      f"use one of {listing(known)}, or declare it in a [[runtime]] table")


def _memory_problems(config: TuttiConfig) -> Iterator[Problem]:
    for agent in config.agents:
        if agent.memory is None:
            continue
        where = keypath.agent_path(agent.name, "memory")
        memory = agent.memory.strip()
        if not memory:
            yield Problem(where, f"agent '{agent.name}' has empty memory path",
                          "set memory to a file inside the workspace, e.g. \"docs/agent-memory.md\", or remove it")
            continue
        why = relative_path_problem(memory)
        if why == "absolute":
            yield Problem(where, f"agent '{agent.name}' memory path must be relative: '{memory}'",
                          "use a path relative to the workspace root")
        elif why == "parent":
            yield Problem(where, f"agent '{agent.name}' memory path must not contain '..': '{memory}'",
                          "memory files must live inside the workspace")


# -- hooks, tool packs, budget, webhooks, gate -----------------------------------------------------
def _hook_problems(config: TuttiConfig) -> Iterator[Problem]:
    agents = {a.name for a in config.agents}
    workflows = {w.name for w in config.workflows}
    for i, hook in enumerate(config.hooks, start=1):
        where = f"hook[{i}] ({hook.event})"
        if hook.agent is not None and hook.agent not in agents:
            yield Problem(keypath.join(where, "agent"), f"hook references unknown agent '{hook.agent}'",
                          f"use one of the declared agents: {listing(agents)}")
        if (hook.workflow is None) == (hook.run is None):
            yield Problem(where, "hook must specify exactly one of 'workflow' or 'run'",
                          "set either workflow = \"<name>\" or run = \"<command>\", not both")
        if hook.workflow is not None and hook.workflow not in workflows:
            yield Problem(keypath.join(where, "workflow"), f"hook references unknown workflow '{hook.workflow}'",
                          f"use one of the declared workflows: {listing(workflows)}")
        if hook.run is not None and not hook.run.strip():
            yield Problem(keypath.join(where, "run"), "hook run command cannot be empty",
                          "set run to a shell command, or remove the hook")
        if hook.event != "workflow_complete" and (hook.workflow_source is not None or hook.workflow_name is not None):
            yield Problem(where, "hook workflow_source/workflow_name filters require event='workflow_complete'",
                          "remove the filters or set event = \"workflow_complete\"")
        if hook.workflow_name is not None and not hook.workflow_name.strip():
            yield Problem(keypath.join(where, "workflow_name"), "hook workflow_name cannot be empty",
                          "set workflow_name to a workflow's name, or remove it")
        if hook.timeout_secs <= 0:
            yield Problem(keypath.join(where, "timeout_secs"), "hook timeout_secs must be > 0",
                          "use a positive number of seconds (default 900)")


def _tool_pack_problems(config: TuttiConfig) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, pack in enumerate(config.tool_packs, start=1):
        if not pack.name.strip():
            yield Problem(f"tool_pack[{i}] → name", "tool_pack name cannot be empty", "give every [[tool_pack]] a name")
            continue
        where = f"tool_pack '{pack.name}'"
        if pack.name in seen:
            yield Problem(keypath.join(where, "name"), f"duplicate tool_pack name: '{pack.name}'",
                          "rename or remove one of the [[tool_pack]] tables with this name")
        seen.add(pack.name)
        for n, cmd in enumerate(pack.required_commands, start=1):
            if not cmd.strip():
                yield Problem(keypath.join(where, f"required_commands[{n}]"),
                              f"tool_pack '{pack.name}' has empty required_commands entry", "remove the empty entry")
        for n, key in enumerate(pack.required_env, start=1):
            if not key.strip():
                yield Problem(keypath.join(where, f"required_env[{n}]"),
                              f"tool_pack '{pack.name}' has empty required_env entry", "remove the empty entry")


def _budget_problems(config: TuttiConfig) -> Iterator[Problem]:
    budget = config.budget
    if budget is None:
        return
    if not 0 < budget.warn_threshold_pct <= 100:  # NaN fails too
        yield Problem("budget → warn_threshold_pct", "budget.warn_threshold_pct must be in (0, 100]",
                      "use a percentage such as 80")
    if budget.workspace_weekly_tokens is not None and budget.workspace_weekly_tokens <= 0:
        yield Problem("budget → workspace_weekly_tokens", "budget.workspace_weekly_tokens must be > 0",
                      "use a positive token count, or remove the key for no cap")
    agents = {a.name for a in config.agents}
    for agent, cap in budget.agent_weekly_tokens.items():
        where = keypath.join("budget", "agent_weekly_tokens", agent if agent.strip() else repr(agent))
        if not agent.strip():
            yield Problem(where, "budget.agent_weekly_tokens contains an empty agent key", "remove the empty key")
        elif cap <= 0:
            yield Problem(where, f"budget.agent_weekly_tokens['{agent}'] must be > 0",
                          "use a positive token count, or remove the entry for no cap")
        elif agent not in agents:
            yield Problem(where, f"budget.agent_weekly_tokens references unknown agent '{agent}'",
                          f"use one of the declared agents: {listing(agents)}")


def _webhook_problems(config: TuttiConfig) -> Iterator[Problem]:
    agents = {a.name for a in config.agents}
    workflows = {w.name for w in config.workflows}
    for i, wh in enumerate(config.webhooks, start=1):
        where = f"webhook[{i}]"
        if not wh.source.strip():
            yield Problem(keypath.join(where, "source"), f"webhook[{i}] source cannot be empty",
                          "set source to github, slack, generic, … or \"*\" for any")
            continue
        if wh.prompt is not None and wh.agent is None:
            yield Problem(keypath.join(where, "prompt"),
                          f"webhook[{i}] prompt is only supported for direct agent dispatch; "
                          "remove 'prompt' or switch to agent-only dispatch",
                          "a prompt needs agent = \"<name>\" instead of workflow")
        if wh.workflow is None and wh.agent is None:
            yield Problem(where, f"webhook[{i}] (source '{wh.source}') must specify either 'workflow' or 'agent'",
                          "add workflow = \"<name>\" to run a workflow, or agent = \"<name>\" to send a prompt")
        elif wh.workflow is not None and wh.agent is not None:
            yield Problem(where, f"webhook[{i}] (source '{wh.source}') must specify 'workflow' or 'agent', not both",
                          "split it into two [[webhook]] tables, one per target")
        if wh.workflow is not None and wh.workflow not in workflows:
            yield Problem(keypath.join(where, "workflow"), f"webhook[{i}] references unknown workflow '{wh.workflow}'",
                          f"use one of the declared workflows: {listing(workflows)}")
        if wh.agent is not None and wh.agent not in agents:
            yield Problem(keypath.join(where, "agent"), f"webhook[{i}] references unknown agent '{wh.agent}'",
                          f"use one of the declared agents: {listing(agents)}")


def _gate_problems(config: TuttiConfig) -> Iterator[Problem]:
    gate = config.gate
    if gate.workflow is not None and gate.workflow not in {w.name for w in config.workflows}:
        yield Problem("gate → workflow", f"gate references unknown workflow '{gate.workflow}'",
                      f"use one of the declared workflows: {listing({w.name for w in config.workflows})}")
    for n, cmd in enumerate(gate.commands, start=1):
        if not cmd.strip():
            yield Problem(f"gate → commands[{n}]", "gate has empty commands entry", "remove the empty entry")
