"""Click's own usage errors (unknown option, bad value, missing argument) in the one error format:
`error[usage]: <what>` + `hint: <the command's usage line and where to read more>`, exit 2."""

from __future__ import annotations

import click


def render_click_error(exc: click.ClickException) -> int:
    """Print `exc` like every other tutti error; the exit code to use."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        # `tt` or `tt queue` alone asks what there is: the help, as `--help` prints it (Click
        # raises it as a usage error whose "message" is the whole help page).
        click.echo(exc.format_message())
        return 0
    if not isinstance(exc, click.UsageError):
        click.echo(f"error[usage]: {exc.format_message()}", err=True)
        return exc.exit_code
    hint = None
    ctx = exc.ctx
    if ctx is not None:
        root = ctx.find_root().info_name or "tt"  # `python -m tutti` is still `tt` to the user
        path = "tt" + ctx.command_path[len(root):]
        usage = ctx.get_usage().replace("Usage: ", "", 1).strip().replace(root, "tt", 1)
        hint = f"usage: {usage} — see `{path} --help`"
    click.echo(f"error[usage]: {exc.format_message()}", err=True)
    if hint:
        click.echo(f"  hint: {hint}", err=True)
    return 2
