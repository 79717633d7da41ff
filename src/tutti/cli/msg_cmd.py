"""`tt msg send|list`: agent-to-agent messages (ops.messages; delivered by the supervisor)."""

from __future__ import annotations

import click


@click.group()
def msg() -> None:
    """Agent-to-agent messages: post to an agent's inbox; delivered as a prompt when it is idle."""


@msg.command("send")
@click.argument("recipient")
@click.argument("text")
@click.option("--from", "sender", default=None,
              help="Sender: an agent name (default: $TUTTI_AGENT inside an agent's shell, else 'user').")
@click.option("--reply-to", type=int, default=None, help="The message id this answers (replies are depth-capped).")
@click.option("-w", "--workspace", "workspace", default=None, help="A registered workspace instead of the current one.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def send(recipient: str, text: str, sender: str | None, reply_to: int | None, workspace: str | None,
         as_json: bool) -> None:
    """Post TEXT to RECIPIENT's inbox."""
    import os
    from pathlib import Path

    from tutti.cli.output import emit_json
    from tutti.ops.messages import OPERATOR, post
    from tutti.ops.resolve import current_workspace

    # Inside an agent's shell the cwd is its worktree (which may hold its own tutti.toml): the
    # session's TUTTI_WORKSPACE_ROOT names the workspace whose store the supervisor reads.
    root = os.environ.get("TUTTI_WORKSPACE_ROOT")
    ws = current_workspace(workspace, start=Path(root) if root and not workspace else None)
    message = post(ws, recipient, text, sender=sender or os.environ.get("TUTTI_AGENT") or OPERATOR,
                   reply_to=reply_to)
    if as_json:
        emit_json(message.to_dict())
        return
    click.echo(f"message #{message.msg_id} to {recipient} queued (delivered when {recipient} is idle)")


@msg.command("list")
@click.option("-a", "--agent", default=None, help="Only messages from or to this agent.")
@click.option("--status", default=None, help="pending, delivering, delivered or failed.")
@click.option("-n", "--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@click.option("-w", "--workspace", "workspace", default=None, help="A registered workspace instead of the current one.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(agent: str | None, status: str | None, limit: int, workspace: str | None, as_json: bool) -> None:
    """Messages, newest first."""
    from tutti.cli.output import emit_json, table
    from tutti.ops.messages import list_messages
    from tutti.ops.resolve import current_workspace

    ws = current_workspace(workspace)
    rows = list_messages(ws, agent=agent, status=status, limit=limit)
    if as_json:
        emit_json([m.to_dict() for m in rows])
        return
    if not rows:
        click.echo("no messages")
        return
    table(["id", "from", "to", "status", "re", "at", "text"],
          [(m.msg_id, m.sender, m.recipient, m.status, m.reply_to or "-", (m.created_at or "")[11:19],
            " ".join(m.body.split())[:50]) for m in rows], title="Messages (newest first)")
