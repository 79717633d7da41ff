"""Everything that reaches the terminal goes through here: errors, JSON and tables."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click

from tutti.errors import TuttiError


def render_error(exc: TuttiError) -> None:
    click.echo(f"error[{exc.category}]: {exc.message}", err=True)
    if exc.hint:
        click.echo(f"  hint: {exc.hint}", err=True)


def warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(_plain(data), indent=2, default=str))


def _plain(data: Any) -> Any:
    if hasattr(data, "model_dump"):
        return data.model_dump(mode="json", by_alias=False)
    if hasattr(data, "to_dict"):
        return data.to_dict()
    if hasattr(data, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(data)
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    return data


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None = None) -> None:
    """A Rich table on a real terminal; plain aligned columns when piped (stable for scripts)."""
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        t = Table(*headers, title=title)
        for row in rows:
            t.add_row(*("" if c is None else str(c) for c in row))
        Console().print(t)
        return
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    if title:
        click.echo(title)
    for r in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def echo(message: str = "", *, err: bool = False) -> None:
    click.echo(message, err=err)
