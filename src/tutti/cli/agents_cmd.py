"""`tt up|down|status|voices|attach|peek|logs|diff|switch|detect|send|land|workspaces`.

Thin: parse arguments, call `tutti.ops`, render. Agents are addressed as `agent` or
`workspace/agent` (one resolver: `ops.resolve`).
"""

from __future__ import annotations

import os
import shlex
import sys
import time

import click

from tutti.cli.output import echo, emit_json, table, warn

ws_option = click.option("-w", "--workspace", "workspace", metavar="WS", help="A registered workspace name (default: the one around cwd).")
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def _ws(name: str | None, *, for_read: bool = False):
    from tutti.ops.resolve import current_workspace

    return current_workspace(name, for_read=for_read)


def _ref(agent: str, workspace: str | None):
    from tutti.ops.resolve import resolve_agent

    return resolve_agent(agent, _ws(workspace) if workspace else None)


def _targets(workspace: str | None, all_: bool, agent: str | None = None, *, for_read: bool = False):
    """(name, workspace, error) triples a command acts on: every registered one with --all,
    the one named by a `workspace/agent` reference, else `-w` or the one around cwd.
    `for_read`: the command only reads the config (it may come from the validated-config cache)."""
    if agent and "/" in agent:
        ref = _ref(agent, workspace)
        return [(None, ref.ws, None)]
    if not all_:
        return [(None, _ws(workspace, for_read=for_read), None)]
    from tutti.ops.resolve import all_workspaces

    return [(name, ws, err) for name, _root, ws, err in all_workspaces()]


# -- up / down ---------------------------------------------------------------------------------
@click.command()
@click.argument("agent", required=False)
@ws_option
@click.option("--all", "all_", is_flag=True, help="Every registered workspace.")
@click.option("--fresh-worktree", is_flag=True, help="Recreate agent worktrees from the project HEAD.")
@click.option("--mode", type=click.Choice(["safe", "auto", "unattended"]), help="Launch mode (default: [launch].mode).")
@click.option("--policy", type=click.Choice(["constrained", "bypass"]), help="Launch policy (default: [launch].policy).")
@json_option
def up(agent, workspace, all_, fresh_worktree, mode, policy, as_json) -> None:
    """Launch agents in tmux sessions and git worktrees (depends_on order)."""
    from tutti.errors import TuttiError
    from tutti.ops.agents import up as do_up

    results, rows = [], []
    failed: TuttiError | None = None
    agent_name = agent.split("/", 1)[1] if agent and "/" in agent else agent
    for name, ws, err in _targets(workspace, all_, agent):
        if ws is None:
            warn(f"{name}: {err}")
            continue
        try:
            res = do_up(ws, agent_name, fresh_worktree=fresh_worktree, mode=mode, policy=policy)
        except TuttiError as exc:
            if not all_:
                raise
            warn(f"{ws.name}: {exc.message}")
            failed = exc
            continue
        results.append(res)
        for w in res.warnings:
            warn(w)
        for s in res.skipped:
            echo(f"skip {s['agent']} ({s['reason']})", err=True)
        rows += [((ws.name,) if all_ else ()) + (a.agent, a.runtime, a.session, a.branch or "(project root)") for a in res.launched]
    if failed is not None and not results:
        raise failed  # --all where every workspace failed (e.g. no such agent anywhere) is not a success
    if as_json:
        emit_json([r.to_dict() for r in results])
        return
    if not rows:
        echo("No agents to launch.")
        return
    table((["Workspace"] if all_ else []) + ["Agent", "Runtime", "Session", "Branch"], rows)
    echo("hint: tt status · tt peek AGENT · tt attach AGENT · tt send AGENT \"...\"")


@click.command()
@click.argument("agent", required=False)
@ws_option
@click.option("--all", "all_", is_flag=True, help="Every registered workspace.")
@click.option("--clean", is_flag=True, help="Also remove worktrees (and branches tutti created).")
@json_option
def down(agent, workspace, all_, clean, as_json) -> None:
    """Stop agents (and with --clean remove their worktrees)."""
    from tutti.errors import TuttiError
    from tutti.ops.agents import down as do_down

    results = []
    agent_name = agent.split("/", 1)[1] if agent and "/" in agent else agent
    for name, ws, err in _targets(workspace, all_, agent):
        if ws is None:
            warn(f"{name}: {err}")
            continue
        results.append(do_down(ws, agent_name, clean=clean))
    if as_json:
        emit_json([r.to_dict() for r in results])
    else:
        stopped = sum(len(r.stopped) for r in results)
        for r in results:
            for w in r.warnings:
                warn(w)
            for c in r.cleaned:
                echo(f"removed worktree {c['path']}" + (f" and branch {c['branch']}" if c["branch_deleted"] else ""))
        echo(f"Stopped {stopped} agent(s)." if stopped else "No running agents to stop.")
    failures = [f for r in results for f in r.hook_failures]
    if failures:
        raise TuttiError(f"hook failures: {'; '.join(failures)}", hint="see the hook output above; fix the hook command")


# -- status ------------------------------------------------------------------------------------
def _status(workspace, all_, as_json) -> None:
    from tutti.ops.status import status as do_status

    rows, data = [], []
    for name, ws, err in _targets(workspace, all_, for_read=True):
        if ws is None:
            # One cell per column (the Workspace column exists: only --all yields a ws of None).
            detail = (err or "").strip().splitlines()
            rows.append((name, "-", "-", "config error", "-", detail[0] if detail else ""))
            data.append({"workspace": name, "error": err})
            continue
        from tutti.ops.host import with_remote_status

        for st in with_remote_status(ws, do_status(ws)):  # agents on other hosts: asked there
            data.append(st.to_dict())
            evidence = ", ".join(st.evidence[:2])
            rows.append(((ws.name,) if all_ else ()) + (st.agent, st.runtime or "-", st.status, st.session, evidence))
    if as_json:
        emit_json(data)
        return
    if not rows:
        echo("No agents configured.")
        return
    table((["Workspace"] if all_ else []) + ["Agent", "Runtime", "Status", "Session", "Evidence"], rows)


@click.command()
@ws_option
@click.option("--all", "all_", is_flag=True, help="Every registered workspace.")
@json_option
def status(workspace, all_, as_json) -> None:
    """Live state of every agent, with the evidence for it."""
    _status(workspace, all_, as_json)


@click.command()
@ws_option
@click.option("--all", "all_", is_flag=True, help="Every registered workspace.")
@json_option
def voices(workspace, all_, as_json) -> None:
    """Alias of `tt status`."""
    _status(workspace, all_, as_json)


# -- looking at an agent ----------------------------------------------------------------------
@click.command()
@click.argument("agent")
@ws_option
@click.option("--print-ssh", "print_ssh", is_flag=True,
              help="Print the command that attaches to the agent's tmux session (ssh to its host when remote).")
def attach(agent, workspace, print_ssh=False) -> None:
    """Attach your terminal to the agent's tmux session (Ctrl+b d to detach)."""
    from tutti.distributed.remote import hosted
    from tutti.errors import AgentNotRunning
    from tutti.sessions.tmux import TmuxBackend

    ref = _ref(agent, workspace)
    if host := hosted(ref.ws, ref.name):  # on another host: a relay, or the ssh command (cli.remote_cmd)
        from tutti.cli import remote_cmd

        return remote_cmd.print_ssh(ref.ws, host, ref.name) if print_ssh else remote_cmd.relay(ref.ws, host, ref.name)
    backend = TmuxBackend()
    if print_ssh:
        return echo(shlex.join(["tmux", *(["-L", backend.socket] if backend.socket else []), "attach", "-t", ref.session]))
    if not backend.exists(ref.session):
        raise AgentNotRunning(f"agent '{ref.name}' is not running", hint=f"Start the agent first: tt up {ref.name}")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        from tutti.errors import UsageError

        # tmux itself would only say "open terminal failed: not a terminal"
        raise UsageError("`tt attach` needs an interactive terminal (stdin/stdout are not a tty)",
                         hint=f"read the screen with `tt peek {ref.name}`, or run tt attach from a terminal")
    others = [a.name for a in ref.ws.config.agents if a.name != ref.name]
    hint = f" ── tt attach {others[0]}" if others else ""
    backend.set_status_bar(ref.session, f" tutti: {ref.name} ({ref.ws.name}) ── Ctrl+b d to detach{hint} ")
    _exec_attach(backend, ref.session)


def _exec_attach(backend, session: str) -> None:
    """Hand the terminal to tmux (exec: we are replaced, not a parent of it)."""
    argv = backend.attach_argv(session)
    env = dict(os.environ)
    if backend.socket:
        env.pop("TMUX", None)  # a private server is not nested in the user's tmux session
    os.execvpe(argv[0], argv, env)


@click.command()
@click.argument("agent")
@ws_option
@click.option("-l", "--lines", default=50, show_default=True, type=click.IntRange(min=0),
              help="Lines of scrollback above the visible screen.")
@json_option
def peek(agent, workspace, lines, as_json) -> None:
    """Print the agent's screen."""
    from tutti.distributed.remote import call, hosted
    from tutti.ops.agents import peek as do_peek

    ref = _ref(agent, workspace)
    host = hosted(ref.ws, ref.name)  # placed on another host: ask that host's worker
    screen = call(ref.ws, host, "peek", {"agent": ref.name, "lines": lines}) if host else do_peek(ref.ws, ref.name, lines)
    if as_json:
        from tutti.store.db import now_iso

        emit_json({"agent": ref.name, "lines": str(screen).split("\n"), "captured_at": now_iso()})
    else:
        echo(screen)


@click.command()
@click.argument("agent")
@ws_option
@click.option("-l", "--lines", default=50, show_default=True, type=click.IntRange(min=0),
              help="Last N lines (0 with -f: only new output).")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new output.")
@json_option
def logs(agent, workspace, lines, follow, as_json) -> None:
    """Show what the agent printed (captured by the background watcher)."""
    from tutti.errors import NotFoundError, UsageError

    if as_json and follow:
        raise UsageError("--json cannot be used with -f/--follow", hint="drop -f for a JSON snapshot of the last lines")
    ref = _ref(agent, workspace)
    from tutti.distributed.remote import hosted

    if host := hosted(ref.ws, ref.name):  # placed on another host: its log lives there
        from tutti.distributed.remote import call

        if follow:  # repeated host calls with a byte cursor (cli.remote_cmd)
            from tutti.cli.remote_cmd import follow_logs

            return follow_logs(ref.ws, host, ref.name, lines)
        tail = list(call(ref.ws, host, "logs", {"agent": ref.name, "lines": lines}))
    else:
        path = ref.ws.tutti_dir / "logs" / f"{ref.name}.log"
        if not path.exists():
            raise NotFoundError(f"log file not found for '{ref.name}' at {path}",
                                hint=f"the watcher writes it while the agent runs: start it with `tt up {ref.name}`")
        text = path.read_text(encoding="utf-8", errors="replace").split("\n")
        if text and text[-1] == "":
            text.pop()
        tail = text[-lines:] if lines else []  # text[-0:] would be the whole log
    if as_json:
        return emit_json({"agent": ref.name, "lines": tail})
    for line in tail:
        echo(line)
    if follow and not host:
        _follow(path)


def _follow(path) -> None:
    """Print what is appended to the log until Ctrl+C (a truncated/rotated log restarts at 0)."""
    pos = path.stat().st_size
    try:
        while True:
            time.sleep(0.5)
            size = path.stat().st_size if path.exists() else 0
            if size < pos:  # truncated / rotated
                pos = 0
            if size > pos:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    fh.seek(pos)
                    sys.stdout.write(fh.read())
                    sys.stdout.flush()
                pos = size
    except KeyboardInterrupt:
        return


@click.command()
@click.argument("agent")
@ws_option
@click.option("--staged", is_flag=True, help="Only staged changes.")
@click.option("--name-only", "name_only", is_flag=True, help="Only file names.")
@click.option("--stat", is_flag=True, help="A diffstat.")
@json_option
def diff(agent, workspace, staged, name_only, stat, as_json) -> None:
    """What the agent changed since it branched (commits + uncommitted work)."""
    from tutti.errors import UsageError
    from tutti.ops.diff import diff as do_diff

    if name_only and stat:
        raise UsageError("--name-only and --stat cannot be used together", hint="pick one")
    ref = _ref(agent, workspace)
    mode = "name-only" if name_only else "stat" if stat else "staged" if staged else "patch"
    res = do_diff(ref.ws, ref.name, mode, staged=staged)
    if as_json:
        emit_json(res)
        return
    echo(f"worktree: {res.worktree}")
    echo(f"branch:   {res.branch}")
    if res.commits:
        echo("commits:")
        for c in res.commits:
            echo(f"  {c}")
    if res.status:
        echo("status:")
        for s in res.status:
            echo(f"  {s}")
    echo(f"{res.files_changed} file(s) changed, {res.insertions} insertion(s), {res.deletions} deletion(s)")
    if res.text:
        echo("")
        echo(res.text.rstrip("\n"))


@click.command()
@click.argument("agent")
@ws_option
@click.option("-l", "--lines", default=200, show_default=True, help="Lines of screen history to consider.")
@json_option
def detect(agent, workspace, lines, as_json) -> None:
    """Show how the detector classifies the agent's screen, and why."""
    from tutti.ops.agents import detect as do_detect

    ref = _ref(agent, workspace)
    info = do_detect(ref.ws, ref.name, lines=max(lines, 20))
    if as_json:
        emit_json(info)
        return
    for key in ("workspace", "agent", "runtime", "session", "status", "confidence", "detail"):
        echo(f"{key + ':':<12}{info[key] if info[key] is not None else '-'}")
    echo("evidence:")
    for e in info["evidence"] or ["(none)"]:
        echo(f"  {e}")


@click.command()
@json_option
def switch(as_json) -> None:
    """Pick a running agent (any registered workspace) and attach to it."""
    from tutti.ops.agents import status as do_status
    from tutti.ops.resolve import all_workspaces, load_workspace
    from tutti.sessions.tmux import TmuxBackend

    seen, choices = set(), []
    candidates = []
    from tutti.errors import TuttiError

    try:
        candidates.append(load_workspace())
    except TuttiError:
        pass  # not inside a workspace: the registry alone
    candidates += [ws for _n, _r, ws, _e in all_workspaces() if ws is not None]
    for ws in candidates:
        if ws.root in seen:
            continue
        seen.add(ws.root)
        choices += [st for st in do_status(ws) if st.running]
    if as_json:
        emit_json(choices)
        return
    if not choices:
        echo("No running agents.")
        return
    for i, st in enumerate(choices, 1):
        echo(f"{i:>3}  {st.workspace}/{st.agent:<20} {st.runtime or '-':<12} {st.status}")
    if not sys.stdin.isatty():
        return
    pick = click.prompt("attach to #", type=click.IntRange(1, len(choices)))
    chosen = choices[pick - 1]
    _exec_attach(TmuxBackend(), chosen.session)


# -- send / land ---------------------------------------------------------------------------------
@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("agent")
@click.argument("prompt", nargs=-1, required=True, type=click.UNPROCESSED)
@ws_option
@click.option("--auto-up", is_flag=True, help="Launch the agent first if it is not running.")
@click.option("--wait", is_flag=True, help="Wait until the agent has finished.")
@click.option("--timeout-secs", default=900, show_default=True, type=float)
@click.option("--idle-stable-secs", default=5, show_default=True, type=float)
@click.option("--output", is_flag=True, help="Print what the agent printed for this prompt.")
@click.option("--output-lines", default=200, show_default=True, type=int)
@click.option("--answer", is_flag=True, help="Send even if the agent is waiting on a dialog (the text answers it).")
@click.option("--direct", is_flag=True, help="Run the prompt through the agent's API-direct loop (provider/model agents).")
@json_option
def send(agent, prompt, workspace, auto_up, wait, timeout_secs, idle_stable_secs, output, output_lines, answer, as_json,
         direct=False) -> None:
    """Send a prompt to an agent."""
    from tutti.ops.send import send as do_send

    ref = _ref(agent, workspace)
    if direct:
        from tutti.cli.direct_cmd import send_direct_cli

        return send_direct_cli(ref.ws, ref.name, " ".join(prompt), as_json=as_json)
    from tutti.distributed.remote import hosted

    if host := hosted(ref.ws, ref.name):  # placed on another host: that host's worker sends it
        from tutti.distributed.remote import call
        from tutti.ops.send import SendResult

        res = SendResult(**call(ref.ws, host, "send", {
            "agent": ref.name, "prompt": " ".join(prompt), "auto_up": auto_up, "wait": wait,
            "timeout_secs": timeout_secs, "idle_stable_secs": idle_stable_secs, "output": output,
            "output_lines": output_lines, "answer": answer}, timeout_secs=timeout_secs + 60))
    else:
        res = do_send(ref.ws, ref.name, " ".join(prompt), auto_up=auto_up, wait=wait, timeout_secs=timeout_secs,
                      idle_stable_secs=idle_stable_secs, output=output, output_lines=output_lines, answer=answer)
    if as_json:
        emit_json(res)
        return
    for w in res.warnings:
        warn(w)
    if wait:
        detail = f"; {res.completion_detail}" if res.completion_detail else ""
        echo(f"sent prompt to {res.agent} ({res.workspace}) and wait completed ({res.completion_source}{detail})")
    else:
        echo(f"sent prompt to {res.agent} ({res.workspace})")
    if output:
        echo(res.captured_output or "(no new output captured)")


@click.command()
@click.argument("agent")
@ws_option
@click.option("--pr", is_flag=True, help="Push the branch and open a GitHub PR instead of landing locally.")
@click.option("--force", is_flag=True, help="Stash local changes first and restore them afterwards.")
@json_option
def land(agent, workspace, pr, force, as_json) -> None:
    """Bring the agent's commits onto the current branch."""
    from tutti.ops.land import land as do_land

    ref = _ref(agent, workspace)
    gate = os.environ.get("TT_ENFORCE_MERGE_GATE", "").lower() in ("1", "true", "yes", "on")
    res = do_land(ref.ws, ref.name, force=force, pr=pr, gate=gate)
    if as_json:
        emit_json(res)
        return
    for w in res.warnings:
        (echo if w.startswith("No new commits") else warn)(w)
    if res.wip_commit:
        echo(f"committed uncommitted work in the worktree as {res.wip_commit}")
    if res.gate_message:
        echo(res.gate_message)
    if res.pr_url:
        echo(f"opened {res.pr_url}")
    elif res.commits:
        for c in res.commits:
            echo(f"  {c}")
        echo(f"Landed {res.landed} commit(s) from {res.agent} ({res.branch}) onto {res.onto}.")


@click.command()
@click.argument("action", required=False, type=click.Choice(["status"]))
@json_option
def workspaces(action, as_json) -> None:
    """Registered workspaces and how many of their agents run."""
    from tutti.ops.agents import workspaces as do_workspaces

    items = do_workspaces()
    if as_json:
        emit_json(items)
        return
    if not items:
        echo("No registered workspaces.")
        return
    if action == "status":
        table(["Workspace", "Agents", "Running"],
              [(w.name, "?" if w.agents is None else w.agents,
                "(config error)" if w.agents is None else f"{w.running}/{w.agents}") for w in items])
    else:
        table(["Workspace", "Path", "Agents"], [(w.name, w.path, "?" if w.agents is None else w.agents) for w in items])
