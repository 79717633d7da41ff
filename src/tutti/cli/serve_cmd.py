"""`tt serve`: the control API, live event stream and dashboard (see `tutti.serve`)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("-w", "--workspace", help="registered workspace name or path (default: the one around cwd)")
@click.option("--all", "all_", is_flag=True, help="serve every registered workspace")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="port (default [dashboard].port or 4040)")
@click.option("--bind", default=None, help="address to bind (default 127.0.0.1)")
@click.option("--remote", is_flag=True, help="bind 0.0.0.0 and require the bearer token")
@click.option("--probe-interval", type=click.FloatRange(1, 3600), default=15.0,
              help="seconds between schedule checks (agent state is event-driven)")
def serve(workspace: str | None, all_: bool, port: int | None, bind: str | None, remote: bool,
          probe_interval: float) -> None:
    """Serve the control API, SSE event stream and (with [observe] dashboard = true) the web UI."""
    from tutti.cli.output import echo
    from tutti.serve import targets

    plan = targets.plan(workspace=workspace, all_=all_, bind=bind, remote=remote, port=port, cwd=Path.cwd())
    token = None
    if plan.auth:
        from tutti.serve.auth import load_or_create_token, token_hint

        token = load_or_create_token()
        echo(f"serve: bearer token {token_hint(token)}")
    from tutti.serve.app import create_app

    app = create_app(plan.workspaces, token=token, dashboard=plan.dashboard, watch=True,
                     schedule_interval_secs=probe_interval)
    sock = _bind(plan.bind, plan.port)
    port = sock.getsockname()[1]
    names = ", ".join(ws.name for ws in plan.workspaces)
    host = f"[{plan.bind}]" if ":" in plan.bind else plan.bind
    page = " — dashboard at /" if plan.dashboard else " — dashboard off (turn on: [observe] dashboard = true)"
    echo(f"serve: http://{host}:{port} — workspaces: {names}{page}")
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    from tutti.serve.interrupted import exit_if_runs_active

    try:  # uvicorn re-raises the signal that stopped it once its shutdown (ours included) is done
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    exit_if_runs_active()  # in-flight runs were marked interrupted; do not wait for their steps


def _bind(host: str, port: int):
    """Bind before starting uvicorn: a busy port is a one-line error, and `--port 0` can print
    the port the OS chose."""
    import socket

    from tutti.errors import UsageError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP, as asyncio's create_server makes it: asyncio turns Nagle off
    # (TCP_NODELAY) only on connections whose socket says so. With proto 0, every small SSE write
    # after the first waited for the client's delayed ACK — up to ~40 ms per frame.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                         hint="pick another --port (or stop the other server)") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
