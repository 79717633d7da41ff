"""`tt telemetry status|export` — OpenTelemetry export of the event spine."""

from __future__ import annotations

import click


@click.group()
def telemetry() -> None:
    """OpenTelemetry export (traces and metrics over OTLP/HTTP) built from the event log."""


@telemetry.command("status")
@click.option("-w", "--workspace", "workspace", default=None, help="A registered workspace instead of the current one.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(workspace: str | None, as_json: bool) -> None:
    """Whether export is on, where it goes, and how far behind the event log it is."""
    from tutti.cli.output import emit_json
    from tutti.ops.resolve import current_workspace
    from tutti.ops.telemetry import telemetry_status

    data = telemetry_status(current_workspace(workspace))
    if as_json:
        emit_json(data)
        return
    click.echo(f"telemetry: {'on' if data['enabled'] else 'off'} ({data['protocol']})")
    click.echo(f"  traces  → {data['traces_endpoint']}")
    click.echo(f"  metrics → {data['metrics_endpoint']}")
    click.echo(f"  exported up to event {data['cursor']} of {data['latest_seq']} ({data['behind']} behind), "
               f"{data['open_spans']} span(s) open")
    if not data["enabled"]:
        click.echo("  to export: set [observe] otel = true (or otlp_endpoint) in tutti.toml; "
                   "once, now: tt telemetry export --endpoint URL")


@telemetry.command("export")
@click.option("--endpoint", default=None, help="OTLP/HTTP base URL (overrides [observe] otlp_endpoint).")
@click.option("--force", is_flag=True, help="Export even if [observe] otel is off.")
@click.option("-w", "--workspace", "workspace", default=None, help="A registered workspace instead of the current one.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def export(endpoint: str | None, force: bool, workspace: str | None, as_json: bool) -> None:
    """Export every event not yet exported, once (tt serve exports continuously when on)."""
    from tutti.cli.output import emit_json
    from tutti.errors import TuttiError
    from tutti.ops.resolve import current_workspace
    from tutti.ops.telemetry import export_telemetry

    report = export_telemetry(current_workspace(workspace), endpoint=endpoint, force=force)
    if as_json:
        emit_json(report)
    else:
        click.echo(f"exported {report['spans']} span(s) from {report['events']} event(s) to "
                   f"{report['traces_endpoint']} (cursor {report['cursor']})")
    if report.get("error"):
        raise TuttiError(f"export stopped: {report['error']}", hint="is the OTLP collector up? the next export "
                                                                    "resumes from the cursor; nothing is lost")
