"""`tt issue-claim acquire|heartbeat|release|sweep`: lease an issue to this run (inventory §7.3).

GitHub issues by default (a claim comment + the `automation-claimed` label, as the original);
`--intake NAME` claims from any `[[intake]]` source of tutti.toml through store leases instead.
"""

from __future__ import annotations

from pathlib import Path

import click

from tutti.cli.output import echo, emit_json

DEFAULT_STATE = ".tutti/state/auto/selected_issue.json"


def _notes(notes: list[str]) -> None:
    for line in notes:
        click.echo(line, err=True)


@click.group("issue-claim")
def issue_claim() -> None:
    """Claim an issue for this run with a heartbeat lease, so parallel runs never take the same one."""


@issue_claim.command("acquire")
@click.option("--output", "output", default=DEFAULT_STATE, show_default=True, type=click.Path(path_type=Path),
              help="Where to write the selected issue.")
@click.option("--label", default="agent-ops", show_default=True, help="Only issues with this label.")
@click.option("--milestone", default=None, help="Only issues in this milestone (title or number).")
@click.option("--lease-ttl-secs", "ttl", default=None, type=click.IntRange(min=1),
              help="Lease length without heartbeats [default: 1800].")
@click.option("--repo", default=None, help="owner/name (default: $GITHUB_REPOSITORY, else the origin remote).")
@click.option("--intake", default=None, help="Claim from this [[intake]] source through store leases instead of GitHub.")
@click.option("--json", "as_json", is_flag=True, help="Print the selected issue instead of its path.")
def acquire_cmd(output: Path, label: str, milestone: str | None, ttl: int | None, repo: str | None,
                intake: str | None, as_json: bool) -> None:
    """Claim the oldest unclaimed open issue; write it to --output and print the path."""
    if intake:
        from tutti.ops.issue_claim_store import acquire

        selected, notes = acquire(output, intake, ttl=ttl)
    else:
        from tutti.ops.issue_claim import acquire

        selected, notes = acquire(output, label, milestone, ttl, repo)
    _notes(notes)
    emit_json(selected) if as_json else echo(str(output))


def _dispatch(state: Path, github_fn: str, store_fn: str, **kw):
    import importlib
    import json

    try:
        source = json.loads(state.read_text(encoding="utf-8")).get("source", "github")
    except (OSError, ValueError):
        source = "github"  # let the GitHub path report the unreadable file as the original did
    module = "tutti.ops.issue_claim" if source == "github" else "tutti.ops.issue_claim_store"
    return getattr(importlib.import_module(module), github_fn if source == "github" else store_fn)(state, **kw)


@issue_claim.command("heartbeat")
@click.option("--state", "state", default=DEFAULT_STATE, show_default=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the updated state.")
def heartbeat_cmd(state: Path, as_json: bool) -> None:
    """Renew the lease written by acquire."""
    result, notes = _dispatch(state, "heartbeat", "heartbeat")
    _notes(notes)
    if as_json:
        emit_json(result)


@issue_claim.command("release")
@click.option("--state", "state", default=DEFAULT_STATE, show_default=True, type=click.Path(path_type=Path))
@click.option("--reason", default=None, help="Why [default: workflow completed].")
@click.option("--json", "as_json", is_flag=True, help="Print the updated state.")
def release_cmd(state: Path, reason: str | None, as_json: bool) -> None:
    """Release the lease written by acquire (removes the label when no claim stays active)."""
    result, notes = _dispatch(state, "release", "release", reason=reason)
    _notes(notes)
    if as_json:
        emit_json(result)


@issue_claim.command("sweep")
@click.option("--repo", default=None, help="owner/name (default: $GITHUB_REPOSITORY, else the origin remote).")
@click.option("--intake", default=None, help="Sweep store leases of this [[intake]] source instead of GitHub.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
def sweep_cmd(repo: str | None, intake: str | None, as_json: bool) -> None:
    """Release expired claims; remove the label where no active claim remains."""
    if intake:
        from tutti.ops.issue_claim_store import sweep

        result, notes = sweep(intake)
    else:
        from tutti.ops.issue_claim import sweep

        result, notes = sweep(repo)
    _notes(notes)
    if as_json:
        emit_json(result)
