"""`tt queue add|list|show|drop`: the local work-item queue."""

from __future__ import annotations

import click

from tutti.cli.output import echo, emit_json, table


def _ws(workspace: str | None):
    from tutti.ops.resolve import current_workspace

    return current_workspace(workspace)


@click.group("queue")
def queue() -> None:
    """Local work items for the loop (stored in the workspace, no forge needed)."""


@queue.command("add")
@click.argument("title")
@click.option("--body", default="", help="Longer description (the agent's brief).")
@click.option("-l", "--label", "labels", multiple=True, help="A label (repeatable).")
@click.option("-w", "--workspace", default=None, help="A registered workspace instead of the current one.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def add_cmd(title: str, body: str, labels: tuple[str, ...], workspace: str | None, as_json: bool) -> None:
    """Add a work item."""
    from tutti.cli.output import warn
    from tutti.ops.queue import add, unseen_warning

    ws = _ws(workspace)
    item = add(ws, title, body=body, labels=list(labels))
    if as_json:
        emit_json(item)
    else:
        echo(f"Queued #{item.id}: {item.title} ({item.key})")
    if note := unseen_warning(ws):
        warn(note)


@queue.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include done and dropped items.")
@click.option("-l", "--label", "labels", multiple=True, help="Only items with this label (repeatable).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("-w", "--workspace", default=None, help="A registered workspace instead of the current one.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(show_all: bool, labels: tuple[str, ...], limit: int, workspace: str | None, as_json: bool) -> None:
    """Queued work items, oldest first."""
    from tutti.ops.queue import list_items

    rows = list_items(_ws(workspace), state="all" if show_all else "open", labels=list(labels), limit=limit)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        echo("Queue is empty." if not show_all else "No queued items.")
        return
    table(["#", "Title", "Labels", "State", "Loop", "Claimed by", "Created"],
          [(r["id"], r["title"], ",".join(r["labels"]), r["state"], (r["loop"] or {}).get("status", ""),
            r["claimed_by"] or "", r["created_at"]) for r in rows])
    for r in rows:  # why the loop left an item open, in one line each
        if r["state"] == "open" and r["loop"] and r["loop"]["status"] != "merged" and r["loop"]["message"]:
            echo(f"#{r['id']} {r['loop']['status']}: {r['loop']['message']}")


@queue.command("show")
@click.argument("item_id")
@click.option("-w", "--workspace", default=None, help="A registered workspace instead of the current one.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_cmd(item_id: str, workspace: str | None, as_json: bool) -> None:
    """One item: body, state, claim and comments."""
    from tutti.ops.queue import show

    d = show(_ws(workspace), item_id)
    if as_json:
        emit_json(d)
        return
    echo(f"#{d['id']} {d['title']}  [{d['state']}]  {d['key']}")
    if d["labels"]:
        echo(f"labels: {', '.join(d['labels'])}")
    echo(f"created: {d['created_at']} by {d['author'] or '-'}" + (f"; claimed by {d['claimed_by']}" if d["claimed_by"] else ""))
    if d["loop"]:
        echo(f"loop: {d['loop']['status']} at {d['loop']['at']}" + (f" — {d['loop']['message']}" if d["loop"]["message"] else ""))
    if d["body"]:
        echo("")
        echo(d["body"])
    for c in d["comments"]:
        echo("")
        echo(f"— {c['author'] or '-'} at {c['created_at']}:")
        echo(c["body"])


@queue.command("drop")
@click.argument("item_id")
@click.option("-w", "--workspace", default=None, help="A registered workspace instead of the current one.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def drop_cmd(item_id: str, workspace: str | None, as_json: bool) -> None:
    """Remove an item from the queue (kept as dropped)."""
    from tutti.ops.queue import drop

    item = drop(_ws(workspace), item_id)
    if as_json:
        emit_json(item)
        return
    echo(f"Dropped #{item.id}: {item.title}")
