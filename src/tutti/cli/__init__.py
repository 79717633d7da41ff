"""`tt` / `tutti`: a thin Click front end over `tutti.ops`.

Subcommands are imported only when invoked (see COMMANDS), so `tt --version` and
`tt run --list` stay fast: nothing heavy (pydantic, rich, httpx, fastapi) loads at start-up
unless the command needs it. The Click group itself lives in `tutti.cli.app`; `tt --version`
answers before even Click is imported.
"""

from __future__ import annotations

import os
import sys

from tutti import __version__

# command name -> "module:attribute". Modules are imported lazily on first use.
COMMANDS: dict[str, str] = {
    "init": "tutti.cli.init_cmd:init",
    "schema": "tutti.cli.schema_cmd:schema",
    "run": "tutti.cli.run_cmd:run",
    "verify": "tutti.cli.run_cmd:verify",
    "runs": "tutti.cli.runs_cmd:runs",
    "doctor": "tutti.cli.doctor_cmd:doctor",
    "up": "tutti.cli.agents_cmd:up",
    "down": "tutti.cli.agents_cmd:down",
    "status": "tutti.cli.agents_cmd:status",
    "voices": "tutti.cli.agents_cmd:voices",
    "attach": "tutti.cli.agents_cmd:attach",
    "peek": "tutti.cli.agents_cmd:peek",
    "logs": "tutti.cli.agents_cmd:logs",
    "diff": "tutti.cli.agents_cmd:diff",
    "switch": "tutti.cli.agents_cmd:switch",
    "detect": "tutti.cli.agents_cmd:detect",
    "send": "tutti.cli.agents_cmd:send",
    "land": "tutti.cli.agents_cmd:land",
    "workspaces": "tutti.cli.agents_cmd:workspaces",
    "review": "tutti.cli.review_cmd:review",
    "handoff": "tutti.cli.handoff_cmd:handoff",
    "permissions": "tutti.cli.permissions_cmd:permissions",
    "schedule": "tutti.cli.schedule_cmd:schedule",
    "serve": "tutti.cli.serve_cmd:serve",
    "replay": "tutti.cli.replay_cmd:replay",
    "usage": "tutti.cli.usage_cmd:usage",
    "approvals": "tutti.cli.approvals_cmd:approvals",
    "loop": "tutti.cli.loop_cmd:loop",
    "queue": "tutti.cli.queue_cmd:queue",
    "issue-claim": "tutti.cli.issue_claim_cmd:issue_claim",
    "intake": "tutti.cli.intake_cmd:intake",
    "host": "tutti.cli.host_cmd:host",
    "telemetry": "tutti.cli.telemetry_cmd:telemetry",
    "profiles": "tutti.cli.profiles_cmd:profiles",
    "health": "tutti.cli.profiles_cmd:health",
    "watch": "tutti.cli.watch_cmd:watch",
    "msg": "tutti.cli.msg_cmd:msg",
}


# One-line summaries for `tt --help`, so listing commands imports none of them.
SUMMARIES: dict[str, str] = {
    "init": "Generate tutti.toml for this repo from a template.",
    "schema": "Print the JSON Schema of tutti.toml.",
    "run": "Run a workflow (or --list, --resume, --dry-run).",
    "verify": "Run the verify workflow; --last shows the previous result.",
    "runs": "List past runs or show one run's steps.",
    "doctor": "Check tmux, git, runtimes, profiles and tool packs.",
    "up": "Launch agents in tmux sessions and worktrees.",
    "down": "Stop agents (--clean removes their worktrees).",
    "status": "Show each agent's state (working, idle, waiting, failed ...).",
    "voices": "Alias of status.",
    "attach": "Attach your terminal to an agent's tmux session.",
    "peek": "Print the last lines of an agent's screen.",
    "logs": "Show an agent's captured output (-f to follow).",
    "diff": "Show an agent's worktree changes.",
    "switch": "Pick a running agent and attach to it.",
    "detect": "Explain how an agent's state was detected.",
    "send": "Send a prompt to an agent (--wait for it to finish).",
    "land": "Bring an agent's commits onto the current branch.",
    "workspaces": "List registered workspaces.",
    "review": "Send an agent's changes to a reviewer agent for a verdict.",
    "handoff": "Generate, apply or list handoff packets.",
    "permissions": "Check, suggest or export command allow rules.",
    "schedule": "Run or list scheduled workflows.",
    "serve": "Start the control API and dashboard on 127.0.0.1.",
    "replay": "Re-render a past API-direct run from its event log.",
    "usage": "Token usage per agent from the runtimes' own logs.",
    "approvals": "List, approve or deny pending approvals (tool calls, merges).",
    "loop": "Run the SDLC loop: claim work items, implement, review, merge.",
    "queue": "Add, list, show or drop local work items for the loop.",
    "issue-claim": "Lease an issue to this run (acquire, heartbeat, release, sweep).",
    "intake": "Open work items across [[intake]] sources, and their claims.",
    "host": "Serve this host's Temporal queue ([engine] kind = \"temporal\").",
    "telemetry": "Export traces and metrics over OTLP (status, export).",
    "profiles": "Profiles: plan, reset day, concurrency in use, health, week usage.",
    "health": "Provider health: auth failures, rate limits, error rate.",
    "watch": "Live terminal view of agents, runs, tokens and cost (keys: peek, attach, send ...).",
    "msg": "Agent-to-agent messages: send to an agent's inbox, list.",
}


def __getattr__(name: str):  # `from tutti.cli import cli` still works, loading Click then
    if name in ("cli", "LazyGroup"):
        from tutti.cli import app

        return getattr(app, name)
    raise AttributeError(name)


def main() -> None:
    try:
        _main()
    except SystemExit as exc:
        if "temporalio" in sys.modules:
            _leave(exc.code)
        raise
    if "temporalio" in sys.modules:
        _leave(0)


def _leave(code: object) -> None:
    """Exit without the interpreter's teardown once the Temporal SDK is loaded (remote agents,
    `[engine] kind = "temporal"`): its core runtime can abort the process while Python shuts
    down (temporalio/sdk-python#300), turning a finished command into a SIGABRT."""
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0)


def _main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):  # the one answer that needs no Click and no config
        print(f"tt, version {__version__}")
        return
    import click

    from tutti.cli.app import cli
    from tutti.config import notices
    from tutti.errors import TuttiError

    notices.subscribe(_warn_once)  # config warnings (unknown keys) go to stderr, once each
    try:
        cli.main(standalone_mode=False)
    except TuttiError as exc:
        from tutti.cli.output import render_error

        render_error(exc)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        from tutti.cli.usage_errors import render_click_error

        sys.exit(render_click_error(exc))
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except OSError as exc:
        # A filesystem surprise (`.tutti` is a file, a read-only disk, a full disk) is the user's
        # to fix: say which path and why in one line. TUTTI_DEBUG=1 keeps the traceback for us.
        if os.environ.get("TUTTI_DEBUG"):
            raise
        from tutti.cli.output import render_error
        from tutti.errors import ToolError

        where = f": {exc.filename}" if exc.filename else ""
        render_error(ToolError(f"{exc.strerror or exc}{where}",
                               hint="check that path (it must be a writable directory or file as tutti expects); "
                                    "TUTTI_DEBUG=1 shows the traceback"))
        sys.exit(1)
    except Exception as exc:
        _store_refused(exc)
        raise


def _store_refused(exc: Exception) -> None:
    """A store SQLite refuses to write (a read-only `.tutti/`, a read-only mount) is the user's to
    fix, like an OSError: one line, no traceback. sqlite3 is never imported just to check."""
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is None or not isinstance(exc, sqlite3.OperationalError) or os.environ.get("TUTTI_DEBUG"):
        return
    text = str(exc)
    if "readonly" not in text and "read-only" not in text and "unable to open" not in text:
        return
    from tutti.cli.output import render_error
    from tutti.errors import StoreError

    render_error(StoreError(f"cannot write the workspace store (.tutti/tutti.db): {text}",
                            hint="make .tutti/ and the files in it writable by you (or remount its disk "
                                 "read-write); TUTTI_DEBUG=1 shows the traceback"))
    sys.exit(1)


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        import click

        click.echo(f"warning: {message}", err=True)
