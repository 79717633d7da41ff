"""`tt host`: a Temporal worker for this host's queue (and optionally the control queue)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tutti.errors import ConfigError, TuttiError, UsageError

if TYPE_CHECKING:
    from tutti.workspace import Workspace


def serve_host(ws: Workspace, *, name: str | None, control: bool, on_ready: Callable[[list[str]], None],
               labels: list[str] | None = None) -> None:
    import asyncio
    import signal
    import sys

    from tutti.distributed.settings import control_queue, host_queue, require_sdk

    if ws.config.engine.kind != "temporal":
        raise ConfigError(f"tt host needs [engine] kind = \"temporal\" in {ws.config_path}",
                          hint='add [engine] kind = "temporal" and address = "HOST:7233"')
    if not name and not control:
        raise UsageError("tt host needs --name HOST (this host's queue) and/or --control",
                         hint="tt host --name build-2   (agents with host = \"build-2\" run here)")
    labels = _labels(name, labels or [])
    require_sdk()
    from tutti.distributed.placement import served_label_queues

    queues = ([host_queue(ws.config, name)] if name else []) + served_label_queues(ws.config, labels) \
        + ([control_queue(ws.config)] if control else [])

    async def main() -> None:
        from tutti.distributed.worker import serve

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

        def ready() -> None:
            on_ready(queues)
            sys.stdout.flush()

        await serve(ws, host=name, control=control, stop=stop, on_ready=ready, host_call=host_call, labels=labels)

    asyncio.run(main())


def host_workspace(repo: str | None, root: str | None) -> Workspace:
    """`tt host --repo URL --root DIR`: the workspace in DIR — cloned from URL when DIR holds no
    clone yet — with repo sync on for this process (fetch per run, agent branches pushed back:
    `distributed.repo_sync`). Without them: the current workspace, as before."""
    from pathlib import Path

    from tutti.ops.resolve import current_workspace

    if root is None:
        if repo:
            raise UsageError("tt host --repo needs --root DIR (where this host's clone lives)",
                             hint="tt host --name gpu-1 --repo git@example.com:org/app.git --root ~/tutti/app")
        return current_workspace(None)
    from tutti.distributed import repo_sync
    from tutti.workspace import load_workspace_at

    path = Path(root).expanduser().resolve()
    if repo:
        repo_sync.clone_if_missing(repo, path)
        repo_sync.check_remote(path, repo)
    elif not (path / ".git").exists():
        raise UsageError(f"--root {path} is not a git clone", hint="add --repo URL to clone the workspace's repository there")
    if not (path / "tutti.toml").exists():
        raise ConfigError(f"no tutti.toml in {path} (the host reads the workspace's config from its clone)",
                          hint="commit tutti.toml to the repository (and push it), or copy it into that directory")
    ws = load_workspace_at(path)
    if repo:
        repo_sync.configure(path)
    return ws


def _labels(name: str | None, labels: list[str]) -> list[str]:
    import re

    if labels and not name:
        raise UsageError("tt host --label needs --name (a label-placed agent stays on the named host that took it)",
                         hint="tt host --name gpu-1 --label gpu")
    for label in labels:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", label):
            raise UsageError(f"host label '{label}' must be a plain name", hint="letters, digits, '.', '_', '-'")
    return sorted(set(labels))


def placements(ws: Workspace) -> list[dict[str, Any]]:
    """`tt host placements`: label-placed agents and their hosts (the control store's table)."""
    from tutti.distributed.placement import listing

    return listing(ws.store)


def unplace(ws: Workspace, agent: str) -> dict[str, Any]:
    """`tt host unplace AGENT`: forget a placement whose host is gone."""
    from tutti.distributed.placement import unplace as forget

    return forget(ws.store, agent)


def host_call(ws: Workspace, op: str, args: dict[str, Any]) -> Any:
    """A `tt peek` / `tt send` from another machine for an agent on this host."""
    if op == "peek":
        from tutti.ops.agents import peek

        return peek(ws, args["agent"], int(args.get("lines", 50)))
    if op == "send":
        from tutti.ops.send import send

        args = dict(args)
        return send(ws, args.pop("agent"), args.pop("prompt"), **args).to_dict()
    if op == "status":
        from tutti.ops.agents import agent_status
        from tutti.sessions.backend import default_backend

        backend = default_backend()
        return [agent_status(ws, cfg, backend).to_dict() for cfg in ws.config.agents if cfg.name in args["agents"]]
    if op == "logs":
        from tutti.ops.host_reads import agent_log

        lines = agent_log(ws, args["agent"]).read_text(encoding="utf-8", errors="replace").splitlines()
        return lines[-int(args["lines"]):] if int(args["lines"]) else []
    if op in ("log_tail", "attach_info"):  # remote `tt logs -f`, `tt attach --print-ssh`
        from tutti.ops import host_reads

        if op == "attach_info":
            return host_reads.attach_info(ws, args["agent"])
        return host_reads.log_tail(ws, args["agent"], offset=args.get("offset"), lines=int(args.get("lines", 50)))
    raise TuttiError(f"unknown host call '{op}'", hint="one of: peek, send, status, logs, log_tail, attach_info")


STATUS_ANSWER_SECS = 10.0  # how long `tt status` waits for a host (all hosts are asked at once)


def with_remote_status(ws: Workspace, rows: list[Any]) -> list[Any]:
    """`tt status`: rows of agents placed on other hosts come from those hosts (asked at once, over
    one connection); a host that does not answer leaves its agents' rows marked `unknown`, with the
    reason and the last state the host forwarded (`distributed.forwarder`)."""
    from tutti.distributed.remote import hosted
    from tutti.ops.status import AgentStatus  # not ops.agents: `tt status` loads no launch code

    by_host: dict[str, list[str]] = {}
    for row in rows:
        if host := hosted(ws, row.agent):
            by_host.setdefault(host, []).append(row.agent)
    if not by_host:
        return rows
    import asyncio  # only now: asyncio (+ ssl) is ~15 ms of a local-only `tt status`

    answers = asyncio.run(_ask_hosts(ws, by_host))
    remote: dict[str, Any] = {}
    for (host, agents), answer in zip(by_host.items(), answers, strict=True):
        if not isinstance(answer, BaseException):
            remote.update((data["agent"], AgentStatus(**data)) for data in answer)
            continue
        reason = answer.message if isinstance(answer, TuttiError) else str(answer)
        for row in rows:
            if row.agent in agents:
                row.status = "unknown"
                row.evidence = [f"host '{host}' did not answer: {reason}", *_last_forwarded(ws, row.agent)]
    return [remote.get(row.agent, row) for row in rows]


async def _ask_hosts(ws: Workspace, by_host: dict[str, list[str]]) -> list[Any]:
    import asyncio

    from tutti.distributed.client import connect
    from tutti.distributed.remote import call_async

    try:
        client = await connect(ws)
    except TuttiError as exc:
        return [exc] * len(by_host)
    return await asyncio.gather(*(call_async(ws, host, "status", {"agents": agents}, timeout_secs=20,
                                             answer_within=STATUS_ANSWER_SECS, client=client)
                                  for host, agents in by_host.items()), return_exceptions=True)


def _last_forwarded(ws: Workspace, agent: str) -> list[str]:
    rows = ws.store.query("SELECT kind, ts FROM events WHERE agent = ? AND kind IN ('agent.working', 'agent.idle', "
                          "'agent.waiting', 'agent.stopped', 'agent.started', 'agent.auth_failed', "
                          "'agent.rate_limited', 'agent.provider_down', 'agent.stuck') "
                          "AND json_extract(data, '$.host') IS NOT NULL ORDER BY seq DESC LIMIT 1", (agent,))
    return [f"last forwarded state: {rows[0]['kind'].removeprefix('agent.')} at {rows[0]['ts']}"] if rows else []
