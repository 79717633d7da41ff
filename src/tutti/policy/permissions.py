"""Allow-rule matching for shell commands, and exporting rules to the runtimes.

Rules come from the global `[permissions].allow` list (inventory §9.4). An entry is either a
Claude tool name (`Read`, `Edit`, `Bash(git status)`, any `Tool(...)`) or a shell rule:
`git status` allows exactly that command or it followed by arguments; `cargo test *` allows
anything starting with `cargo test`. A command line is allowed only when EVERY simple
command in it is allowed (`a && b`, `a; b`, `a | b`, `$(b)` — see `commandline.py`).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tutti.policy.commandline import UnparseableCommand, normalize, split_commands

CLAUDE_TOOLS = (
    "AskUserQuestion", "Bash", "Edit", "ExitPlanMode", "Glob", "Grep", "LS", "MultiEdit",
    "NotebookEdit", "NotebookRead", "Read", "Skill", "Task", "TodoRead", "TodoWrite", "WebFetch",
    "WebSearch", "Write",
)
_TOOL_CALL = re.compile(r"^[A-Z][A-Za-z0-9_]*\(.*\)$", re.DOTALL)
_BASH_CALL = re.compile(r"^Bash\((.*)\)$", re.DOTALL)
CODEX_IMPLICIT = ("apply_patch *",)


def is_tool_rule(entry: str) -> bool:
    entry = entry.strip()
    return entry in CLAUDE_TOOLS or bool(_TOOL_CALL.match(entry))


def shell_rules(rules: list[str], runtime: str | None = None) -> list[str]:
    """Rules that apply to shell commands: plain entries plus the inside of `Bash(...)`.

    Codex edits files through its `apply_patch` command, so it always gets `apply_patch *`.
    """
    out: list[str] = []
    for entry in rules:
        entry = normalize(entry)
        if not entry:
            continue
        m = _BASH_CALL.match(entry)
        if m:
            inner = normalize(m.group(1).replace(":*", " *"))
            if inner:
                out.append(inner)
        elif not is_tool_rule(entry):
            out.append(entry)
    if runtime == "codex" and out:
        out += [r for r in CODEX_IMPLICIT if r not in out]
    return out


def rule_matches(rule: str, command: str) -> bool:
    """`x *` → starts with `x ` (or is exactly `x`); `x` → is `x` or `x` + arguments."""
    rule, command = normalize(rule), normalize(command)
    if rule == "*":
        return True
    if rule.endswith("*"):
        prefix = rule[:-1]
        return command.startswith(prefix) or (prefix.endswith(" ") and command == prefix.rstrip())
    return command == rule or command.startswith(rule + " ")


# Interpreters and launchers: a rule naming only these would allow *any* program or module.
INTERPRETERS = re.compile(r"^(python(\d+(\.\d+)*)?|pypy\d*|node|deno|bun|ruby|perl|php)$")
SHELLS = ("bash", "sh", "zsh", "dash", "fish", "ksh")
PREFIX_WRAPPERS = ("sudo", "doas", "env", "nohup", "time", "nice", "ionice", "exec", "command", "xargs",
                   "timeout", "stdbuf", "chrt", "taskset", "watch")
ONE_WORD_LAUNCHERS = ("npx", "pnpx", "bunx", "uvx", "pipx")
TWO_WORD_LAUNCHERS = {("uv", "run"), ("poetry", "run"), ("pipenv", "run"), ("pdm", "run"), ("hatch", "run"),
                      ("rye", "run"), ("bundle", "exec"), ("npm", "exec"), ("pnpm", "exec"), ("pnpm", "dlx"),
                      ("yarn", "exec"), ("yarn", "dlx"), ("conda", "run"), ("mamba", "run"), ("pipx", "run")}
RUN_SCRIPT = {"npm": "run", "pnpm": "run", "yarn": "run", "bun": "run"}  # `npm run lint` → 3 words


def _rule_tokens(tokens: list[str]) -> list[str] | None:
    """The tokens of the narrowest rule covering `tokens`, or None: only the exact command will do."""
    if not tokens:
        return None
    head = tokens[0].rsplit("/", 1)[-1] if tokens[0].startswith("/") else tokens[0]
    rest = tokens[1:]
    if head in SHELLS:
        return None  # `bash -c '…'` can run anything: allow this exact line only
    if head in PREFIX_WRAPPERS:
        i = 0  # keep the wrapper's own options/assignments/duration, then the wrapped command's rule
        while i < len(rest) and (rest[i].startswith("-") or "=" in rest[i] or (head == "timeout" and i == 0)):
            i += 1
        inner = _rule_tokens(rest[i:])
        return None if inner is None else [tokens[0], *rest[:i], *inner]
    if len(tokens) >= 2 and (head, tokens[1]) in TWO_WORD_LAUNCHERS:
        i = 2
        while i < len(tokens) and tokens[i].startswith("-"):
            i += 1
        inner = _rule_tokens(tokens[i:] if i < len(tokens) and tokens[i] != "--" else tokens[i + 1:])
        return None if inner is None else [*tokens[:i], *inner]
    if head in ONE_WORD_LAUNCHERS:
        i = 1
        while i < len(tokens) and tokens[i].startswith("-"):
            i += 1
        return tokens[: i + 1] if i < len(tokens) else None
    if INTERPRETERS.match(head):
        if rest[:1] == ["-m"] and len(rest) >= 2:
            return tokens[:3]  # `python -m pytest`, never `python -m`
        if rest and not rest[0].startswith("-"):
            return tokens[:2]  # `node scripts/build.js`
        return None  # `python -c …`, `python` alone: only this exact line
    if head in RUN_SCRIPT and rest[:1] == [RUN_SCRIPT[head]] and len(rest) >= 2:
        return tokens[:3]
    return tokens[:2]  # the program and its subcommand (or first argument): the original's rule


def _is_bare_launcher(rule: str) -> bool:
    words = rule.split()
    return len(words) == 1 and (words[0] in SHELLS or words[0] in PREFIX_WRAPPERS or words[0] in ONE_WORD_LAUNCHERS
                                or bool(INTERPRETERS.match(words[0])))


def suggest_rule(command: str) -> str:
    """The narrowest rule that allows `command`: the program and its subcommand (`git status`,
    `python -m pytest`, `npx eslint`, `uv run pytest`) — never an interpreter or launcher alone
    (`python -m`, `bash -c`, `npx`, `uv run`, `env`, `sudo`); when nothing narrower is safe, the
    exact command line."""
    try:
        tokens = shlex.split(command)
    except ValueError:
        tokens = command.split()
    picked = _rule_tokens(tokens)
    rule = " ".join(picked) if picked else normalize(command)
    # the rule is matched against the raw line: fall back to it when quoting changed the words
    rule = rule if rule_matches(rule, command) else normalize(command)
    return "" if _is_bare_launcher(rule) else rule  # `npx` alone would allow every package


@dataclass
class PartDecision:
    command: str
    allowed: bool
    matched_rule: str | None = None


@dataclass
class Decision:
    command: str
    allowed: bool
    reason: str
    matched_rules: list[str] = field(default_factory=list)
    suggested_rule: str | None = None
    parts: list[PartDecision] = field(default_factory=list)
    policy_configured: bool = True

    @property
    def matched_rule(self) -> str | None:
        return self.matched_rules[0] if self.matched_rules else None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["matched_rule"] = self.matched_rule
        return d


def check_command(command: str, rules: list[str] | None) -> Decision:
    """Is `command` allowed by `rules`? `rules=None` means no policy is configured (allowed)."""
    command = command.strip()
    if rules is None:
        return Decision(command, True, "no permissions policy is configured; allowing command",
                        policy_configured=False)
    shell = shell_rules(rules)
    try:
        parts = split_commands(command)
    except UnparseableCommand as exc:
        return Decision(command, False, f"command cannot be parsed ({exc}); refusing it",
                        suggested_rule=None)
    if not parts:
        return Decision(command, False, "empty command")
    decisions: list[PartDecision] = []
    for part in parts:
        rule = next((r for r in shell if rule_matches(r, part)), None)
        decisions.append(PartDecision(part, rule is not None, rule))
    blocked = [p for p in decisions if not p.allowed]
    matched = list(dict.fromkeys(p.matched_rule for p in decisions if p.matched_rule))
    if not blocked:
        reason = f"allowed by {', '.join(repr(r) for r in matched)}"
        return Decision(command, True, reason, matched, None, decisions)
    first = blocked[0].command
    if len(parts) > 1:
        reason = f"'{first}' (part {decisions.index(blocked[0]) + 1} of {len(parts)}) matches no allow rule"
    else:
        reason = f"'{first}' matches no allow rule"
    return Decision(command, False, reason, matched, suggest_rule(first) or None, decisions)


# -- runtime exports -----------------------------------------------------------------------------
def export_claude_settings(rules: list[str]) -> dict:
    """Claude Code settings: tool entries as they are, shell rules as `Bash(rule)`."""
    allow: list[str] = []
    for entry in rules:
        entry = normalize(entry)
        if not entry:
            continue
        allow.append(entry if is_tool_rule(entry) else f"Bash({entry})")
    return {"permissions": {"allow": list(dict.fromkeys(allow))}}


def claude_settings_path(state_dir: Path, agent: str) -> Path:
    return Path(state_dir) / "runtime-settings" / f"{agent}-claude-settings.json"


def write_claude_settings(state_dir: Path, agent: str, rules: list[str]) -> Path:
    from tutti.fsutil import write_json_atomic

    path = claude_settings_path(state_dir, agent)
    write_json_atomic(path, export_claude_settings(rules))
    return path


def policy_appendix(runtime_label: str, rules: list[str]) -> str:
    """Text appended to the initial prompt of shim-enforced runtimes."""
    lines = [f"Tutti policy constraints for {runtime_label}:",
             "Only execute Bash commands matching one of these allow rules:",
             *[f"- {r}" for r in rules],
             "Compound commands (&&, ||, ;, |, $(...)) are checked part by part.",
             "Commands outside policy are blocked by Tutti shell shims."]
    return "\n".join(lines)
