"""`tt replay RUN_ID [--json]`: re-render a past API-direct run step by step from the store."""

from __future__ import annotations

import click


@click.command("replay")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--full", is_flag=True, help="show full model text and tool results (as recorded)")
def replay(run_id: str, as_json: bool, full: bool) -> None:
    """Re-render a past API-direct run: model turns, tool calls, policy decisions, costs."""
    from tutti.cli.output import echo, emit_json
    from tutti.ops.direct import replay as replay_run
    from tutti.workspace import load_workspace

    ws = load_workspace()
    result = replay_run(ws, run_id)
    if as_json:
        emit_json(result)
        return
    limit = None if full else 400
    echo(f"run {result.run_id}" + (f" ({result.run['status']})" if result.run else ""))
    for e in result.entries:
        turn = f"[{e.turn:>2}]" if e.turn is not None else "    "
        step = f" {e.step}" if e.step else ""
        echo(f"{e.seq:>6} {turn}{step} {e.title}")
        if e.detail:
            text = e.detail if limit is None or len(e.detail) <= limit else e.detail[:limit] + " …"
            for line in text.splitlines()[: None if full else 12]:
                echo(f"           │ {line}")
    t = result.totals
    echo(
        f"totals: {t['model_calls']} model calls, {t['tool_calls']} tool calls ({t['denied_calls']} denied), "
        f"in {t['input_tokens']} (+{t['cached_tokens']} cached) out {t['output_tokens']} tokens, "
        f"${t['cost_usd']:.6f}"
    )
