"""`tt permissions check CMD... | suggest WORKFLOW [--apply] | export [--runtime claude] [--output PATH]`."""

from __future__ import annotations

from pathlib import Path

import click

from tutti.cli.output import echo, emit_json, table


@click.group()
def permissions() -> None:
    """Check, suggest or export command allow rules ([permissions].allow in the global config)."""


def _workspace_or_none():
    from tutti.paths import find_workspace_root
    from tutti.workspace import load_workspace_at

    root = find_workspace_root()
    return load_workspace_at(root) if root else None


_OPERATORS = {"&&", "||", "|", ";", "&"}


def _command_line(words: tuple[str, ...]) -> str:
    """One argument is a command line as written. Several are the words your shell already
    split: `tt permissions check git commit -m "a; b"` is ONE git command, so a word with spaces
    or shell characters is re-quoted (joined bare, 'b' read as a second command to allow) —
    except an operator word, which stays one (`git status '&&' rm x` still checks both)."""
    import shlex

    if len(words) == 1:
        return words[0]
    return " ".join(w if w in _OPERATORS else shlex.quote(w) for w in words)


@permissions.command("check", context_settings={"ignore_unknown_options": True})
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def check_cmd(command: tuple[str, ...], as_json: bool) -> None:
    """Is CMD allowed? Compound commands (&&, ||, ;, |) need every part allowed."""
    from tutti.errors import PolicyError
    from tutti.ops.permissions import check, no_policy_error

    result = check(_command_line(command), ws=_workspace_or_none())
    if as_json:  # the original's machine contract: no policy → allowed, policy_configured false, exit 0
        emit_json(result)
        if not result.allowed:
            raise SystemExit(1)
        return
    if not result.policy_configured:
        raise no_policy_error()  # a person is told plainly, and the exit code matches `tt up` refusing
    if result.allowed:
        rule = f" (rule: {result.matched_rule})" if result.matched_rule else ""
        echo(f"allowed: {result.command}{rule}")
        return
    raise PolicyError(f"blocked: {result.command}" + (f" — {result.reason}" if result.reason else ""),
                      hint=f"add this allow rule: {result.suggested_rule}" if result.suggested_rule else None)


@permissions.command("suggest")
@click.argument("workflow")
@click.option("--apply", "apply", is_flag=True, help="Append the suggested rules to the global allow list.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def suggest_cmd(workflow: str, apply: bool, as_json: bool) -> None:
    """Rules that would allow every command of WORKFLOW (nested workflows included)."""
    from tutti.ops.permissions import suggest
    from tutti.workspace import load_workspace

    result = suggest(load_workspace(), workflow, apply=apply)
    if as_json:
        emit_json(result)
        return
    if not result.blocked:
        echo(f"All {result.total_commands} command(s) of '{workflow}' are allowed.")
        return
    table(["STEP", "COMMAND", "SUGGESTED RULE"], [(b["step"], b["command"], b["suggested_rule"]) for b in result.blocked])
    if apply:
        echo(f"Applied {len(result.applied_rules)} rule(s): {', '.join(result.applied_rules) or '(already present)'}")
    else:
        echo("Run again with --apply to add these rules.")


@permissions.command("export")
@click.option("--runtime", default="claude", show_default=True, help="Settings format (claude).")
@click.option("--output", "output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of stdout.")
def export_cmd(runtime: str, output: Path | None) -> None:
    """Print (or write) runtime settings that mirror the allow list."""
    from tutti.ops.permissions import export

    result = export(runtime, output=output)
    if output is None:
        emit_json(result.settings)
    else:
        echo(f"wrote {output}")
