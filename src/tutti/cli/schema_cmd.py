"""`tt schema`: print the JSON Schema of tutti.toml (for editor completion)."""

from __future__ import annotations

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Accepted for symmetry with other commands (the output is JSON).")
def schema(as_json) -> None:
    """Print the JSON Schema of tutti.toml (use with taplo / Even Better TOML)."""
    import json

    from tutti.config.schema import tutti_schema

    click.echo(json.dumps(tutti_schema(), indent=2, ensure_ascii=False))
