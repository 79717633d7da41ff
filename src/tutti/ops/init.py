"""`tt init`: write tutti.toml from a template chosen by name, path or repository detection,
ignore `.tutti/` in git, and register the workspace in the global registry."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from tutti.errors import ConfigError, TuttiError
from tutti.paths import CONFIG_FILENAME

GITIGNORE_ENTRY = ".tutti/"
_GITIGNORE_EQUIVALENTS = {".tutti", ".tutti/", "/.tutti", "/.tutti/", ".tutti/*", "/.tutti/*", ".tutti/**"}


@dataclass
class InitResult:
    path: str
    workspace: str
    template: str
    version: str
    description: str
    source: str  # "built-in" or the custom template's path
    reason: str  # why this template (detection explanation or "requested with --template")
    matches: list[dict] = field(default_factory=list)
    roles: list[dict] = field(default_factory=list)  # {role, runtime, description}
    agents: list[str] = field(default_factory=list)
    workflows: list[str] = field(default_factory=list)
    overwritten: bool = False
    gitignore: str = "unchanged"  # created | updated | unchanged
    registered: bool = False
    global_config_created: bool = False
    permissions: dict = field(default_factory=dict)  # {mode, summary, added_rules}: how `tt up` will launch
    warnings: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def init_workspace(root: Path, *, template: str | None = None, force: bool = False,
                   template_base: Path | None = None) -> InitResult:
    """Write `root/tutti.toml`. `template` is a built-in name or a file path (relative paths are
    resolved against `template_base`, default `root`); without it the repository is detected."""
    from tutti.config import templates
    from tutti.config.load import load_config_text
    from tutti.fsutil import write_text_atomic

    root = root.resolve()
    target = root / CONFIG_FILENAME
    existed = target.exists()
    if existed and not force:
        raise ConfigError(f"{CONFIG_FILENAME} already exists in {root}",
                          hint="edit it, or pass --force to overwrite it with a fresh template")

    if template:
        chosen = templates.resolve(template, template_base or root)
        source = "built-in" if not templates.is_template_path(template) else chosen.source
        picked = templates.TemplatePick(chosen, f"using template '{chosen.name}' (requested with --template)")
    else:
        picked = templates.pick(root)
        source = "built-in"

    text = templates.render(picked.template, root)
    try:
        loaded = load_config_text(text, target, file=f"template '{picked.template.name}'")
    except ConfigError as exc:
        raise ConfigError(f"generated config from template '{picked.template.name}' is invalid: {exc.message}",
                          hint=exc.hint or "fix the template body") from None
    write_text_atomic(target, text)

    config = loaded.config
    result = InitResult(
        path=str(target), workspace=config.workspace.name, template=picked.template.name,
        version=picked.template.meta.version, description=picked.template.meta.description, source=source,
        reason=picked.reason, matches=[m.to_dict() for m in picked.matches],
        roles=_roles(picked.template, config), agents=[a.name for a in config.agents],
        workflows=[w.name for w in config.workflows], overwritten=existed, warnings=list(loaded.warnings),
    )
    result.gitignore = ensure_gitignored(root)
    _register(result, root)
    _permissions(result, config)
    in_git = _inside_git_repo(root)
    if not in_git:
        result.warnings.append(f"{root} is not a git repository: agents need git for their worktrees (run `git init`)")
    result.next_steps = _next_steps(result, in_git)
    return result


def ensure_gitignored(root: Path) -> str:
    """Make sure `.tutti/` is ignored by git; returns created | updated | unchanged."""
    from tutti.fsutil import write_text_atomic

    path = root / ".gitignore"
    if not path.exists():
        write_text_atomic(path, f"{GITIGNORE_ENTRY}\n")
        return "created"
    try:
        current = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", hint=f"add the line {GITIGNORE_ENTRY} to it yourself") from None
    if any(line.strip() in _GITIGNORE_EQUIVALENTS for line in current.splitlines()):
        return "unchanged"
    sep = "" if not current or current.endswith("\n") else "\n"
    write_text_atomic(path, f"{current}{sep}{GITIGNORE_ENTRY}\n")
    return "updated"


def _register(result: InitResult, root: Path) -> None:
    """Registration failures never undo a written tutti.toml: they become warnings."""
    from tutti.config.global_config import ensure_global_file, register_workspace

    try:
        result.global_config_created = ensure_global_file()
        register_workspace(result.workspace, root)
        result.registered = True
    except TuttiError as exc:
        result.warnings.append(f"workspace not registered in the global config: {exc.message}")


# What every agent team needs besides its workflows' commands (Claude tool names are ignored by
# the shell shims of the other runtimes).
BASE_RULES = ("Read", "Edit", "Write", "Glob", "Grep", "git status", "git diff", "git log", "git add", "git commit")


def _permissions(result: InitResult, config) -> None:
    """Leave a config `tt up` can start: mode auto needs `[permissions] allow` rules, so when the
    global config has none, write rules derived from this config's own workflow commands (and
    the basics every agent needs); say what was chosen either way."""
    from tutti.ops.doctor import POLICY_RUNTIMES

    mode = config.launch.mode
    runtimes = {config.resolved_runtime(a) for a in config.agents}
    if not runtimes & set(POLICY_RUNTIMES) or mode == "safe" or (mode == "unattended" and config.launch.policy == "bypass"):
        result.permissions = {"mode": mode, "added_rules": [],
                              "summary": f"[launch] mode = \"{mode}\": no allow rules needed"}
        return
    from tutti.config.global_config import append_permission_rules, global_path
    from tutti.ops.permissions import allow_rules

    try:
        existing = allow_rules()
        if existing:
            _existing_rules(result, config, mode, existing, global_path())
            return
        added = append_permission_rules([*BASE_RULES, *_workflow_rules(config)])
    except TuttiError as exc:
        result.warnings.append(f"no allow rules written ({exc.message}): `tt up` in mode {mode} will refuse; "
                               "add [permissions] allow rules or set [launch] mode = \"safe\"")
        return
    result.permissions = {"mode": mode, "added_rules": added, "summary": (
        f"[launch] mode = \"{mode}\" (the default): added {len(added)} allow rule(s) to {global_path()} "
        f"[permissions] — from this config's workflows plus git and file tools: {', '.join(added)}")}


def _existing_rules(result: InitResult, config, mode: str, existing: list[str], where: Path) -> None:
    """Rules exist (another project wrote them, or you did): keep them, but name the commands of
    this config's workflows they do not allow — `tt run verify` would be blocked on its first step."""
    from tutti.policy.enforce import evaluate

    blocked = [(wf.name, step.run) for wf in config.workflows for step in wf.steps
               if step.type == "command" and not evaluate(step.run, existing).allowed]
    summary = (f"[launch] mode = \"{mode}\" (the default): agents run the {len(existing)} allow rule(s) already in "
               f"{where} unattended")
    if blocked:
        names = list(dict.fromkeys(name for name, _ in blocked))
        fixes = " && ".join(f"tt permissions suggest {name} --apply" for name in names)
        summary += f" — they do not allow {len(blocked)} command(s) of this config's workflows"
        result.warnings.append(
            f"{len(blocked)} workflow command(s) are not allowed by the rules in {where} and will be blocked "
            f"(e.g. {blocked[0][1]!r} in '{blocked[0][0]}'): run `{fixes}` to allow them")
    result.permissions = {"mode": mode, "added_rules": [], "summary": summary,
                          "blocked_commands": [{"workflow": n, "command": c} for n, c in blocked]}


def _workflow_rules(config) -> list[str]:
    """The narrowest rule for every simple command of every workflow command step."""
    from tutti.policy.commandline import UnparseableCommand, split_commands
    from tutti.policy.permissions import suggest_rule

    rules: list[str] = []
    for wf in config.workflows:
        for step in wf.steps:
            if step.type != "command":
                continue
            try:
                parts = split_commands(step.run)
            except UnparseableCommand:
                continue
            rules += [r for r in (suggest_rule(p) for p in parts) if r]
    return list(dict.fromkeys(rules))


def _roles(template, config) -> list[dict]:
    rows = []
    for role, runtime in (config.roles or {}).items():
        meta = template.meta.roles.get(role)
        rows.append({"role": role, "runtime": runtime, "description": meta.description if meta else None})
    return rows


def _inside_git_repo(root: Path) -> bool:
    return any((p / ".git").exists() for p in (root, *root.parents))


def _next_steps(result: InitResult, in_git: bool = True) -> list[str]:
    steps = [] if in_git else ['git init && git add -A && git commit -m "initial commit"   # agents and git '
                               "steps need a repository"]
    steps.append(f"review {CONFIG_FILENAME} (agents, roles, workflows)")
    if "verify" in result.workflows:
        if any(b["workflow"] == "verify" for b in result.permissions.get("blocked_commands", ())):
            steps.append("tt permissions suggest verify --apply   # allow verify's commands first")
        steps.append("tt run verify --strict   # run the verify workflow now")
    steps.append("tt doctor                # check tmux, git and the agents' runtimes")
    if result.agents:
        steps.append("tt up                    # start the agents")
    return steps
