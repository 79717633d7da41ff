"""`tt doctor [--json] [--strict]`."""

from __future__ import annotations

import click

from tutti.cli.output import echo, emit_json, table
from tutti.errors import TuttiError


class DoctorFailed(TuttiError):
    """Doctor found failing (or, with --strict, warning) checks."""

    category = "doctor"


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--strict", is_flag=True, help="Warnings fail too.")
def doctor(as_json: bool, strict: bool) -> None:
    """Check tmux, git, agent runtimes, profiles, tool packs and the workspace state."""
    from tutti.ops.doctor import run_doctor

    report = run_doctor()
    if as_json:
        emit_json(report.to_dict())
    else:
        table(["Check", "Status", "Detail", "Suggested Fix"],
              [[c.check, c.status.upper(), c.detail, c.fix or ""] for c in report.checks])
        echo(f"{report.count('pass')} pass, {report.count('warn')} warn, {report.count('fail')} fail")
    failing, warnings = report.count("fail"), report.count("warn")
    if failing:
        raise DoctorFailed(f"doctor found {failing} failing checks", hint="apply the suggested fixes above")
    if strict and warnings:
        raise DoctorFailed(f"doctor strict mode failed with {warnings} warning checks",
                           hint="fix the warnings or run without --strict")
