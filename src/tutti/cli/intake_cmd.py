"""`tt intake list|claims`: open work items across `[[intake]]` sources and the store leases on them."""

from __future__ import annotations

import click

from tutti.cli.output import echo, emit_json, table


@click.group("intake")
def intake() -> None:
    """Work items from the configured [[intake]] sources, and who has claimed them."""


@intake.command("list")
@click.option("--intake", "names", multiple=True, help="Only this [[intake]] (repeatable).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1), help="Per source.")
@click.option("-w", "--workspace", default=None, help="A registered workspace instead of the current one.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(names: tuple[str, ...], limit: int, workspace: str | None, as_json: bool) -> None:
    """Open items, oldest first per source, with their current claim."""
    from tutti.ops.intake import open_items
    from tutti.ops.resolve import current_workspace

    ws = current_workspace(workspace)
    rows = open_items(ws, list(names), limit=limit)
    if as_json:
        emit_json(rows)
        return
    if not rows and not ws.config.intake:
        echo(f"No [[intake]] in {ws.config_path}: nothing to list — add one, e.g. "
             '[[intake]] name = "todo" kind = "queue" (README "Work intake")')
        return
    if not rows:
        echo("No open work items.")
        return
    table(["Key", "Intake", "Title", "Labels", "Claimed by", "Token"],
          [(r["key"], r["intake"], r["title"], ",".join(r["labels"]), r["claimed_by"] or "", r["fencing_token"] or "")
           for r in rows])


@intake.command("claims")
@click.option("--all", "show_all", is_flag=True, help="Include released and expired leases.")
@click.option("-w", "--workspace", default=None, help="A registered workspace instead of the current one.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def claims_cmd(show_all: bool, workspace: str | None, as_json: bool) -> None:
    """Store leases: item key, holder, fencing token, heartbeat and expiry."""
    from tutti.ops.intake import claims
    from tutti.ops.resolve import current_workspace

    rows = claims(current_workspace(workspace), include_released=show_all)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        echo("No active claims." if not show_all else "No claims recorded.")
        return
    table(["Key", "Holder", "Token", "Heartbeat", "Expires", "Active"],
          [(r["key"], r["holder"], r["fencing_token"], r["heartbeat_at"], r["expires_at"], "yes" if r["active"] else "no")
           for r in rows])
