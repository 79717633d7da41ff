"""`tt logs -f` and `tt attach` for an agent placed on another host (`[engine] kind = "temporal"`).

Temporal's link to a host is pull-only (the host polls its queue), so there is no byte stream
to a remote pane at interactive latency. What is built instead, honestly labelled:
* `logs -f`: repeated host `log_tail` calls with a byte cursor — each line printed once, in order;
* `attach`: a RELAY — the pane mirrored from refreshing host `peek` snapshots, each typed line
  sent through the host's `send`; `--print-ssh` prints the real `ssh -t HOST tmux -L SOCKET
  attach -t SESSION` for users who can reach the host.
One client connection serves every call of a session. Ctrl-C ends either cleanly.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from typing import TYPE_CHECKING, Any

from tutti.cli.output import echo, warn

if TYPE_CHECKING:
    from tutti.workspace import Workspace

POLL_SECS = 1.0
ANSWER_SECS = 20.0


def follow_logs(ws: Workspace, host: str, agent: str, lines: int) -> None:
    try:
        asyncio.run(_follow(ws, host, agent, lines))
    except KeyboardInterrupt:
        pass


async def _follow(ws: Workspace, host: str, agent: str, lines: int) -> None:
    from tutti.distributed.client import connect
    from tutti.distributed.remote import HostNoAnswer, call_async

    client = await connect(ws)

    async def tail(offset: int | None) -> dict[str, Any]:
        return await call_async(ws, host, "log_tail", {"agent": agent, "offset": offset, "lines": lines},
                                timeout_secs=ANSWER_SECS, answer_within=ANSWER_SECS, client=client)

    res = await tail(None)
    while True:
        if res.get("reset"):
            warn(f"{agent}'s log on host '{host}' was truncated; following it from its start")
        for line in res["lines"]:
            echo(line)
        offset = res["offset"]
        if offset >= res["size"]:  # caught up: wait for more (a partial line waits here too)
            await asyncio.sleep(POLL_SECS)
        try:
            res = await tail(offset)
        except HostNoAnswer as exc:
            warn(f"{exc.message}; still following")
            res = {"lines": [], "offset": offset, "size": offset}


def print_ssh(ws: Workspace, host: str, agent: str) -> None:
    from tutti.distributed.remote import call

    info = call(ws, host, "attach_info", {"agent": agent}, timeout_secs=ANSWER_SECS, answer_within=ANSWER_SECS)
    echo(ssh_command(info))


def ssh_command(info: dict[str, Any]) -> str:
    tmux = ["tmux", *(["-L", info["socket"]] if info.get("socket") else []), "attach", "-t", info["session"]]
    return shlex.join(["ssh", "-t", info["hostname"], *tmux])


def relay(ws: Workspace, host: str, agent: str) -> None:
    from tutti.errors import UsageError

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("`tt attach` needs an interactive terminal (stdin/stdout are not a tty)",
                         hint=f"read the screen with `tt peek {agent}`, or `tt attach --print-ssh {agent}`")
    try:
        asyncio.run(_Relay(ws, host, agent).run())
    except KeyboardInterrupt:
        pass
    finally:
        sys.stdout.write("\x1b[0m\x1b[2J\x1b[H")  # leave a clean screen
        sys.stdout.flush()


class _Relay:
    """The mirrored pane: header, the last screenful of the host's `peek`, and an input row at
    the bottom (the terminal's own line editing; a refresh saves and restores the cursor)."""

    def __init__(self, ws: Workspace, host: str, agent: str) -> None:
        self.ws, self.host, self.agent = ws, host, agent
        self.status, self.note = "connecting…", ""  # the link's state; the last send's result
        self.screen = ""
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()

    async def run(self) -> None:
        from tutti.distributed.client import connect

        self.client = await connect(self.ws)
        loop = asyncio.get_running_loop()
        loop.add_reader(sys.stdin.fileno(), self._typed)
        try:
            await self._snapshot()
            self._paint(full=True)
            while True:
                try:
                    line = await asyncio.wait_for(self.lines.get(), POLL_SECS)
                except TimeoutError:
                    await self._snapshot()
                    self._paint(full=False)
                    continue
                if line is None:  # Ctrl-D
                    return
                if line.strip():
                    await self._send(line)
                await self._snapshot()
                self._paint(full=True)
        finally:
            loop.remove_reader(sys.stdin.fileno())

    def _typed(self) -> None:
        line = sys.stdin.readline()
        self.lines.put_nowait(line.rstrip("\n") if line else None)

    async def _call(self, op: str, args: dict[str, Any]) -> Any:
        from tutti.distributed.remote import call_async

        return await call_async(self.ws, self.host, op, args, timeout_secs=ANSWER_SECS,
                                answer_within=ANSWER_SECS, client=self.client)

    async def _snapshot(self) -> None:
        from tutti.errors import TuttiError

        try:
            self.screen = await self._call("peek", {"agent": self.agent, "lines": 0})
            self.status = "live"
        except TuttiError as exc:
            self.status = exc.message

    async def _send(self, line: str) -> None:
        from tutti.errors import TuttiError

        try:
            await self._call("send", {"agent": self.agent, "prompt": line, "answer": True})
            self.note = f"sent: {line[:40]}"
        except TuttiError as exc:
            self.note = f"not sent: {exc.message}"

    def _paint(self, *, full: bool) -> None:
        import shutil

        cols, rows = shutil.get_terminal_size((100, 30))
        parts = [f" RELAY (not a terminal attach): {self.agent} on host '{self.host}'", self.status, self.note,
                 f"mirror refreshed every {POLL_SECS:g}s", "a typed line + Enter is sent", "Ctrl-C leaves",
                 f"real terminal: tt attach --print-ssh {self.agent}"]
        head = " · ".join(p for p in parts if p)
        body = self.screen.rstrip("\n").split("\n")[-(rows - 2):] if self.screen else []
        body += [""] * (rows - 2 - len(body))
        out = ["\x1b[2J" if full else "\x1b7", "\x1b[H", "\x1b[7m", head[:cols].ljust(cols), "\x1b[0m"]
        for i, text in enumerate(body):
            out.append(f"\x1b[{i + 2};1H{text[:cols]}\x1b[K")
        out.append(f"\x1b[{rows};1Hrelay> " if full else "\x1b8")
        sys.stdout.write("".join(out))
        sys.stdout.flush()
