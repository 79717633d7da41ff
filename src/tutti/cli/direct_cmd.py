"""Rendering for `tt send AGENT --direct PROMPT…`: run the API-direct loop, stream the model's
text to the terminal, ask approvals on the tty, print a cost summary (or `--json`)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from tutti.workspace import Workspace


def send_direct_cli(ws: Workspace, agent: str, prompt: str, *, as_json: bool) -> None:
    from tutti.cli.output import echo, emit_json, warn
    from tutti.ops.direct import send_direct

    interactive = sys.stdin.isatty() and sys.stderr.isatty()

    def approver(req):
        # Asked on the terminal; without one, approvals wait in the store for `decide_approval`.
        summary = req.args.get("command") or req.args.get("path") or ""
        return click.confirm(f"allow {req.tool} {summary!s:.200}?", default=False, err=True)

    printed = {"text": False}

    def on_delta(delta):
        if delta.kind == "text" and delta.text:
            click.echo(delta.text, nl=False, err=True)
            printed["text"] = True
        elif delta.kind == "stop" and printed["text"]:
            click.echo("", err=True)  # one line per model turn
            printed["text"] = False

    def on_tool(name, args, outcome, denied):
        what = args.get("command") or args.get("path") or args.get("pattern") or ""
        state = "denied" if denied else ("error" if outcome.is_error else "ok")
        click.echo(f"  → {name} {str(what)[:100]} ({state})", err=True)

    result = send_direct(
        ws,
        agent,
        prompt,
        approver=approver if interactive else None,
        on_delta=None if as_json else on_delta,
        on_tool=None if as_json else on_tool,
    )
    for message in result.warnings:
        warn(message)
    if as_json:
        emit_json(result)
    else:
        t = result.totals
        echo(
            f"{result.status} ({result.stop_reason}) run {result.run_id}: {t['model_calls']} model calls, "
            f"{t['tool_calls']} tool calls ({t['denied_calls']} denied), in {t['input_tokens']} "
            f"out {t['output_tokens']} tokens, ${t['cost_usd']:.4f}"
        )
        echo(f"replay: tt replay {result.run_id}")
    if result.status == "failed":
        from tutti.errors import ProviderError, TuttiError

        err = result.error or {}
        exc = ProviderError if err.get("category") == "provider" else TuttiError
        raise exc(err.get("message", "API-direct run failed"), hint=err.get("hint"))
