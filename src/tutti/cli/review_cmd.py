"""`tt review AGENT [--reviewer R] [--wait] [--timeout-secs N] [--json]`."""

from __future__ import annotations

import click

from tutti.cli.output import echo, emit_json


@click.command()
@click.argument("agent")
@click.option("--reviewer", default="reviewer", show_default=True, help="Agent that reviews the changes.")
@click.option("--wait", is_flag=True, help="Wait for the reviewer's verdict file and record it.")
@click.option("--timeout-secs", type=float, default=1800, show_default=True, help="How long --wait waits.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def review(agent: str, reviewer: str, wait: bool, timeout_secs: float, as_json: bool) -> None:
    """Send AGENT's changes to a reviewer agent; --wait collects its verdict."""
    from tutti.ops.review import review as do_review
    from tutti.workspace import load_workspace

    result = do_review(load_workspace(), agent, reviewer, wait=wait, timeout=timeout_secs)
    if as_json:
        emit_json(result)
    else:
        echo(result.message)
        if result.sent and not wait:
            echo(f"Verdict expected at {result.verdict_path}")
        if result.verdict and result.verdict.findings:
            echo(result.verdict.findings_text())
    if result.verdict and not result.verdict.approved:
        raise SystemExit(1)
