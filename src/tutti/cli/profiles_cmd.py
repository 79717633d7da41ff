"""`tt profiles` and `tt health`: capacity and provider health at a glance."""

from __future__ import annotations

import click


@click.command()
@click.option("-w", "--workspace", "workspace", default=None, help="A registered workspace instead of the current one.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def profiles(workspace: str | None, as_json: bool) -> None:
    """Profiles: plan, reset day, sessions in use vs max_concurrent, health, this week's usage."""
    from tutti.cli.output import emit_json, table
    from tutti.errors import TuttiError
    from tutti.ops.profiles import list_profiles
    from tutti.ops.resolve import current_workspace

    try:
        ws = current_workspace(workspace)
    except TuttiError:
        if workspace:
            raise
        ws = None  # outside a workspace: profiles still list, without health or sessions
    views = list_profiles(ws)
    if as_json:
        emit_json([v.to_dict() for v in views])
        return
    if not views:
        from tutti.config.global_config import global_path

        click.echo(f"no profiles in the global config (add [[profile]] to {global_path()})")
        return
    table(["profile", "provider", "plan", "reset", "in use", "week tokens", "requests", "health"],
          [(v.name + (" *" if v.is_default else ""), v.provider or "-", v.plan or "-", v.reset_day[:3],
            _in_use(v), v.week_tokens, v.week_requests, v.health) for v in views],
          title="Profiles (* = this workspace's default)")


def _in_use(v) -> str:
    used = "?" if v.in_use is None else str(v.in_use)
    text = f"{used}/{v.max_concurrent}" if v.max_concurrent else used
    return text + (" FULL" if v.at_capacity else "")


@click.command()
@click.option("--window", default="1h", show_default=True, help="Error-rate window: 30m, 1h, 24h, …")
@click.option("-w", "--workspace", "workspace", default=None, help="A registered workspace instead of the current one.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def health(window: str, workspace: str | None, as_json: bool) -> None:
    """Provider health per provider and profile: auth failures, rate limits, error rate."""
    from tutti.cli.output import emit_json, table
    from tutti.ops.health import provider_health
    from tutti.ops.resolve import current_workspace

    rows = provider_health(current_workspace(workspace), window=window)
    if as_json:
        emit_json([h.to_dict() for h in rows])
        return
    if not rows:
        click.echo("no provider traffic recorded yet")
        return
    table(["provider", "profile", "status", "error rate", "rate limited", "last auth failure", "failing"],
          [(h.provider, h.profile or "-", h.status, f"{h.error_rate:.0%} of {h.requests + h.errors}",
            (h.rate_limit_reset_at and f"until {h.rate_limit_reset_at}") or ("yes" if h.rate_limited else "no"),
            (h.last_auth_failure or {}).get("ts", "-"),
            ", ".join(f"{a} ({s})" for a, s in h.failing_agents.items()) or "-") for h in rows],
          title=f"Provider health (last {window})")
