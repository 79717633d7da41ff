"""`tt usage [--agent A] [--since 7d] [--json]`."""

from __future__ import annotations

import click


@click.command()
@click.option("-a", "--agent", default=None, help="Only this agent.")
@click.option("--since", default=None, help="Only usage since: 30m, 24h, 7d, 2w, today, week, or an ISO date/time.")
@click.option("--until", default=None, help="Only usage before this time (same forms as --since).")
@click.option("--by", "by", default=None,
              type=click.Choice(["agent", "runtime", "provider", "model", "run", "day"]),
              help="Tokens and cost grouped by this (CLI logs and API-direct calls, priced).")
@click.option("-w", "--workspace", "workspace", default=None, help="A registered workspace instead of the current one.")
@click.option("--by-workspace", is_flag=True, help="Totals of every registered workspace.")
@click.option("-p", "--profile", default=None, help="Only workspaces using this profile (implies --by-workspace).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def usage(agent: str | None, since: str | None, until: str | None, by: str | None, workspace: str | None,
          by_workspace: bool, profile: str | None, as_json: bool) -> None:
    """Token usage per agent, read from the runtimes' own logs (--by: with cost, any grouping)."""
    from tutti.cli.output import emit_json, table, warn
    from tutti.ops.resolve import current_workspace
    from tutti.ops.usage import usage_by_workspace, usage_report

    if (by_workspace or profile) and (by is not None or until is not None or agent is not None):
        from tutti.errors import UsageError

        raise UsageError("--by-workspace/-p cannot be combined with --by, --until or --agent (it was ignored)",
                         hint="tt usage --by-workspace [-p PROFILE] [--since S] for every workspace's totals; "
                              "tt usage --by GROUP [-w WORKSPACE] for one workspace's breakdown")
    if by is not None or until is not None:
        _breakdown(current_workspace(workspace), by or "agent", since, until, agent, as_json)
        return

    if by_workspace or profile:
        rows = usage_by_workspace(profile=profile, since=since)
        if as_json:
            emit_json(rows)
            return
        table(["workspace", "profile", "input", "cache write", "cache read", "output", "total", "requests"],
              [(r.workspace, r.profile or "-", r.total.input_tokens, r.total.cache_creation_tokens,
                r.total.cache_read_tokens, r.total.output_tokens, r.total.total_tokens,
                r.total.requests if r.error is None else f"error: {r.error}") for r in rows],
              title="Token usage by workspace" + (f" (profile {profile})" if profile else ""))
        return
    ws = current_workspace(workspace)
    report = usage_report(ws, agent=agent, since=since)
    if as_json:
        emit_json(report)
        return
    for err in report.scan.get("errors", []):
        warn(f"usage log skipped: {err}")
    rows = [
        (a.agent, a.runtime or "-", a.totals.input_tokens, a.totals.cache_creation_tokens,
         a.totals.cache_read_tokens, a.totals.output_tokens, a.totals.total_tokens, a.totals.requests)
        for a in report.agents
    ]
    t = report.total
    rows.append(("total", "", t.input_tokens, t.cache_creation_tokens, t.cache_read_tokens,
                 t.output_tokens, t.total_tokens, t.requests))
    title = f"Token usage — {report.workspace}" + (f" since {report.since}" if report.since else "")
    table(["agent", "runtime", "input", "cache write", "cache read", "output", "total", "requests"], rows, title=title)


def _breakdown(ws, by: str, since: str | None, until: str | None, agent: str | None, as_json: bool) -> None:
    from tutti.cli.output import emit_json, table
    from tutti.ops.usage import usage_breakdown

    report = usage_breakdown(ws, by=by, since=since, until=until, agent=agent)
    if as_json:
        emit_json(report)
        return
    rows = [(g.key, g.input_tokens, g.cache_creation_tokens, g.cache_read_tokens, g.output_tokens, g.total_tokens,
             g.requests, _usd(g)) for g in report.groups]
    t = report.total
    rows.append(("total", t.input_tokens, t.cache_creation_tokens, t.cache_read_tokens, t.output_tokens,
                 t.total_tokens, t.requests, _usd(t)))
    window = "".join(part for part in (f" since {report.since}" if report.since else "",
                                       f" until {report.until}" if report.until else ""))
    table([by, "input", "cache write", "cache read", "output", "total", "requests", "cost"], rows,
          title=f"Usage and cost by {by} — {report.workspace}{window}")


def _usd(group) -> str:
    text = f"${group.cost_usd:,.4f}"
    return text + (f" (+{group.unpriced_requests} unpriced)" if group.unpriced_requests else "")
