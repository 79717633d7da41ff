"""What a host answers about one of its agents for an operator elsewhere (`ops.host.host_call`):
a cursor-based slice of the agent's log (remote `tt logs -f`) and the tmux names a user with
ssh access needs (remote `tt attach --print-ssh`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tutti.errors import NotFoundError

if TYPE_CHECKING:
    from pathlib import Path

    from tutti.workspace import Workspace

MAX_BYTES = 256 * 1024  # one answer's worth; the caller comes back for the rest


def agent_log(ws: Workspace, agent: str) -> Path:
    """The agent's log file on this host, or the one-line error saying who writes it."""
    path = ws.tutti_dir / "logs" / f"{agent}.log"
    if not path.exists():
        raise NotFoundError(f"log file not found for '{agent}' on this host at {path}",
                            hint=f"the watcher writes it while the agent runs: `tt send {agent} --auto-up`")
    return path


def log_tail(ws: Workspace, agent: str, *, offset: int | None, lines: int) -> dict[str, Any]:
    """Complete lines of the agent's log after byte `offset` (None: the last `lines` lines) and
    the offset to ask from next. A partial last line waits for its newline, so a follower never
    prints half a line twice; a log shorter than `offset` was truncated: read from its start."""
    path = agent_log(ws, agent)
    size = path.stat().st_size
    if offset is None:
        start = max(0, size - 4 * MAX_BYTES)
        text, end = _complete(path, start, size)
        out = text.split("\n")[:-1] if text else []
        if start > 0 and out:
            out = out[1:]  # the first line read may be cut
        return {"lines": out[-lines:] if lines else [], "offset": end, "size": size, "reset": False}
    reset = offset > size
    start = 0 if reset else offset
    text, end = _complete(path, start, min(size, start + MAX_BYTES))
    return {"lines": text.split("\n")[:-1] if text else [], "offset": end, "size": size, "reset": reset}


def _complete(path: Path, start: int, stop: int) -> tuple[str, int]:
    """The text of [start, stop) up to its last newline, and the byte offset after it. A chunk
    of MAX_BYTES without one is returned whole (with a newline) so one huge line cannot stall."""
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(max(0, stop - start))
    cut = data.rfind(b"\n")
    if cut < 0:
        if len(data) < MAX_BYTES:
            return "", start
        return data.decode("utf-8", errors="replace") + "\n", start + len(data)
    return data[:cut + 1].decode("utf-8", errors="replace"), start + cut + 1


def attach_info(ws: Workspace, agent: str) -> dict[str, Any]:
    """This machine's name, the tmux socket and the agent's session name on it."""
    import socket

    from tutti.sessions.tmux import TmuxBackend

    backend, session = TmuxBackend(), ws.session_name(agent)
    return {"hostname": socket.gethostname(), "socket": backend.socket, "session": session,
            "running": backend.exists(session)}
