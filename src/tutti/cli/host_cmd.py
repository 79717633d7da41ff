"""`tt host`: serve this machine's Temporal task queues (agents placed with `host = "NAME"` or
`host_labels`); `tt host placements` / `tt host unplace AGENT` read and clear label placements."""

from __future__ import annotations

import click


@click.group("host", invoke_without_command=True)
@click.option("--name", "name", default=None, help="This host's name: serves <prefix>.host.NAME.")
@click.option("--label", "labels", multiple=True,
              help="A label of this host (repeatable): it also takes the first step of agents whose "
                   "host_labels it has, and they stay placed here.")
@click.option("--control", is_flag=True, help="Also serve the control queue (the workflow and the store's writes).")
@click.option("--repo", default=None, help="The workspace's git remote URL: cloned into --root when that holds no "
                                           "clone yet; fetched per run, agent branches pushed back to it.")
@click.option("--root", default=None, help="This host's clone (serve from there instead of the current directory).")
@click.pass_context
def host(ctx: click.Context, name: str | None, labels: tuple[str, ...], control: bool, repo: str | None,
         root: str | None) -> None:
    """Run a Temporal worker until SIGTERM: step attempts of the agents placed on this host run
    here, with this machine's tmux server and worktrees; their events are forwarded to the
    control store. Needs [engine] kind = "temporal"."""
    if ctx.invoked_subcommand is not None:
        return
    from tutti.ops.host import host_workspace, serve_host

    serve_host(host_workspace(repo, root), name=name, control=control, labels=list(labels),
               on_ready=lambda queues: click.echo(f"tt host ready: serving {', '.join(queues)}", nl=True))


@host.command("placements")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def placements(as_json: bool) -> None:
    """Agents placed by host_labels, and the host each lives on."""
    from tutti.cli.output import emit_json, table
    from tutti.ops.host import placements as listing
    from tutti.ops.resolve import current_workspace

    rows = listing(current_workspace(None))
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no placed agents (agents with host_labels are placed by their first step)")
        return
    table(["Agent", "Host", "Labels", "Placed", "Run"],
          [[r["agent"], r["host"], ",".join(r["labels"]), r["placed_at"], r["run_id"] or ""] for r in rows])


@host.command("unplace")
@click.argument("agent")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def unplace(agent: str, as_json: bool) -> None:
    """Forget AGENT's placement (its host is gone): its next step goes to any host with its labels."""
    from tutti.cli.output import emit_json
    from tutti.ops.host import unplace as forget
    from tutti.ops.resolve import current_workspace

    row = forget(current_workspace(None), agent)
    if as_json:
        emit_json(row)
        return
    click.echo(f"{agent} is no longer placed on {row['host']}: its next step goes to a host with "
               f"[{', '.join(row['labels'])}] (its worktree on {row['host']} stays behind)")
