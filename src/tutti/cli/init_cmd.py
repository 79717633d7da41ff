"""`tt init [--template NAME|PATH] [--force] [--json] [--list]`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("-t", "--template", "template", metavar="NAME|PATH",
              help="Built-in template name, or a path to a custom template .toml file.")
@click.option("--force", is_flag=True, help="Overwrite an existing tutti.toml.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--list", "list_templates", is_flag=True, help="List the built-in templates and exit.")
def init(template: str | None, force: bool, as_json: bool, list_templates: bool) -> None:
    """Create tutti.toml for this directory from the best-matching template."""
    from tutti.cli.output import echo, emit_json, table, warn

    if list_templates:
        _list(as_json)
        return
    from tutti.ops.init import init_workspace

    cwd = Path.cwd()
    result = init_workspace(cwd, template=template, force=force, template_base=cwd)
    if as_json:
        emit_json(result)
        for w in result.warnings:
            warn(w)
        return
    echo(result.reason)
    verb = "Overwrote" if result.overwritten else "Created"
    about = f" — {result.description}" if result.description else ""  # custom templates may have none
    echo(f"{verb} tutti.toml from template '{result.template}' {result.version}{about}")
    if result.roles:
        table(["Role", "Runtime", "Description"], [[r["role"], r["runtime"], r["description"]] for r in result.roles])
    if result.gitignore != "unchanged":
        echo(f"{'Created' if result.gitignore == 'created' else 'Updated'} .gitignore (ignores .tutti/)")
    if result.registered:
        echo(f"Registered workspace '{result.workspace}'")
    if result.permissions:
        echo(f"Permissions: {result.permissions['summary']}")
    for w in result.warnings:
        warn(w)
    echo("\nNext steps:")
    for step in result.next_steps:
        echo(f"  {step}")


def _list(as_json: bool) -> None:
    from tutti.cli.output import emit_json, table
    from tutti.config import templates

    found = templates.builtins()
    detected = {m.template.name: m for m in templates.detect(Path.cwd(), found)}
    if as_json:
        emit_json([t.to_dict() | {"detected": t.name in detected} for t in found])
        return
    table(["Template", "Version", "Detect", "Description"],
          [[t.name, t.meta.version, _detect_label(t) + (" ✓" if t.name in detected else ""), t.meta.description]
           for t in found])


def _detect_label(t) -> str:
    parts = []
    if t.meta.detect:
        parts.append("any of " + ", ".join(t.meta.detect))
    if t.meta.detect_all:
        parts.append("all of " + ", ".join(t.meta.detect_all))
    return "; ".join(parts) or "(explicit only)"
