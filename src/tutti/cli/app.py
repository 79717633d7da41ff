"""The Click application behind `tt`: a group whose subcommands are imported on first use.

Kept apart from `tutti.cli` so `tt --version` answers without importing Click at all.
"""

from __future__ import annotations

import importlib

import click

from tutti import __version__
from tutti.cli import COMMANDS, SUMMARIES


class LazyGroup(click.Group):
    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUMMARIES.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = click.utils.make_str(args[0]) if args else ""
        if args and self.get_command(ctx, name) is None and not name.startswith("-"):
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1, cutoff=0.6)
            if close:  # `tt stauts` → say what was probably meant
                ctx.fail(f"No such command '{name}'. Did you mean '{close[0]}'?")
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return _not_built(name)
        return getattr(module, attr)


def _not_built(name: str) -> click.Command:
    @click.command(name=name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    def missing() -> None:
        from tutti.errors import UsageError

        raise UsageError(f"`tt {name}` is not available in this build", hint="see README for the command list")

    return missing


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="tt")
def cli() -> None:
    """Tutti — the operations layer above AI coding agents."""
