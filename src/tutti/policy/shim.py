"""Shell-policy shims: `bash`, `sh`, `zsh` wrappers put first on a runtime's PATH.

A runtime without its own permission system (Codex in `-a never`, Aider, OpenClaw, Gemini)
runs shell commands as `bash -c CMD` / `sh -lc CMD`. The wrapper is a two-line POSIX script
that hands its arguments to `python -m tutti.policy.shim`, which checks the `-c` command
with the same matcher as `tt permissions check` (`permissions.check_command`) and either
execs the real shell or prints `tutti policy blocked command: CMD` and exits 126. A script
run as `sh FILE args` is checked as that command line. Limits: a tool that runs an absolute
`/bin/sh` (not via PATH or $SHELL), or an interpreter (`python -c`, `node -e`), bypasses shims;
Claude Code is therefore constrained by its own settings file instead.

Layout (inventory §3): `.tutti/state/runtime-shims/{agent}/allow.rules`, `bash`, `sh`, `zsh`,
plus `decisions.jsonl` with one line per checked command.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

SHELLS = ("bash", "sh", "zsh")
BLOCKED_EXIT = 126


def shim_dir(state_dir: Path, agent: str) -> Path:
    return Path(state_dir) / "runtime-shims" / agent


def real_shell(name: str) -> str | None:
    for base in ("/bin", "/usr/bin"):
        path = Path(base) / name
        if path.exists() and os.access(path, os.X_OK):
            return str(path)
    return None


def render_wrapper(shell_path: str, rules_path: Path, python: str | None = None) -> str:
    """The wrapper script. Every interpolated value is one of our own paths, shell-quoted."""
    py = python or sys.executable
    return (
        "#!/bin/sh\n"
        "# Tutti shell-policy shim: checks -c commands against allow.rules, then runs the real shell.\n"
        f"exec {shlex.quote(py)} -m tutti.policy.shim --rules {shlex.quote(str(rules_path))} "
        f"--shell {shlex.quote(shell_path)} -- \"$@\"\n"
    )


def write_shims(state_dir: Path, agent: str, rules: list[str]) -> Path:
    """Write allow.rules and a wrapper per available shell; returns the directory for PATH."""
    from tutti.fsutil import write_text_atomic

    d = shim_dir(state_dir, agent)
    d.mkdir(parents=True, exist_ok=True)
    rules_path = d / "allow.rules"
    write_text_atomic(rules_path, "".join(f"{r}\n" for r in rules))
    for name in SHELLS:
        real = real_shell(name)
        if real is None:
            continue
        write_text_atomic(d / name, render_wrapper(real, rules_path), mode=0o755)
    return d


def read_rules(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def command_argument(args: list[str]) -> str | None:
    """The command string of `sh [opts] -c CMD [name args…]`, or None if not a -c call.

    Option clusters such as `-lc`, `-ec`, `-xc` count; `-o opt` takes a value.
    """
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--" or not a.startswith("-") or a == "-":
            return None
        if a in ("-o", "+o"):
            i += 2
            continue
        if not a.startswith("--") and "c" in a[1:]:
            return args[i + 1] if i + 1 < len(args) else None
        i += 1
    return None


def script_invocation(shell: str, args: list[str]) -> str | None:
    """`sh FILE args…` runs a script file: checked as the command line `sh FILE args…` (so a
    rule such as `bash scripts/ci.sh` allows it). An interactive shell or one reading
    commands from stdin has no command line to check and runs as is."""
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-o", "+o"):
            i += 2
            continue
        if a == "--":
            i += 1
            break
        if a.startswith(("-", "+")) and a not in ("-", "+"):
            if "s" in a[1:] and not a.startswith("--"):
                return None  # -s: commands from stdin
            i += 1
            continue
        break
    if i >= len(args) or args[i] == "-":
        return None
    return shlex.join([Path(shell).name, *args[i:]])


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        sep = argv.index("--")
    except ValueError:
        sep = len(argv)
    opts, shell_args = argv[:sep], argv[sep + 1:]
    rules_path = Path(opts[opts.index("--rules") + 1])
    shell = opts[opts.index("--shell") + 1]
    command = command_argument(shell_args)
    if command is None:
        command = script_invocation(shell, shell_args)
    if command is not None:
        from tutti.policy.permissions import check_command

        decision = check_command(command, read_rules(rules_path))
        _log(rules_path.parent / "decisions.jsonl", decision)
        if not decision.allowed:
            sys.stderr.write(f"tutti policy blocked command: {command}\n  reason: {decision.reason}\n")
            if decision.suggested_rule:
                sys.stderr.write(f"  hint: add this allow rule: {decision.suggested_rule}\n")
            return BLOCKED_EXIT
    os.execv(shell, [shell, *shell_args])
    return 127  # not reached


def _log(path: Path, decision) -> None:
    try:
        from tutti.fsutil import append_jsonl

        append_jsonl(path, {"timestamp": time.time(), "action": "shell_command",
                            "decision": "allow" if decision.allowed else "block",
                            "command": decision.command, "matched_rules": decision.matched_rules,
                            "suggested_rule": decision.suggested_rule, "reason": decision.reason})
    except OSError:
        pass  # logging must never change what the command does


if __name__ == "__main__":
    sys.exit(main())
