"""`tt watch`'s terminal loop: wait on the store's wake-up socket and the keyboard, never on tmux.

One `select()` over stdin, the store's cross-process wake-up socket (`store.notify.Listener`)
and a pipe poked by in-process commits (the supervisor's watcher runs in this process). Each
wake-up reads new events from the model's cursor and redraws. A one-second timeout redraws the
age column and is the safety poll should a wake-up be lost. Actions (send, land, approve) run in
a thread so a slow one never freezes the screen; peek and attach read tmux only when asked.

`TUTTI_WATCH_TRACE=<file>` appends `{"seq", "event_ts", "shown_ts"}` per drawn event, which is
how the state-change latency is measured (tests/watch, bench/bench_watch.py).
"""

from __future__ import annotations

import json
import os
import select
import sys
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutti.ops.watch import WatchModel
    from tutti.workspace import Workspace

TICK_SECS = 1.0
MIN_FRAME_SECS = 0.04


class WatchApp:
    def __init__(self, ws: Workspace, model: WatchModel) -> None:
        self.ws, self.model = ws, model
        self.selected = 0
        self.message = ""
        self.prompt: str | None = None  # text being typed for `send`
        self.confirm: tuple[str, Any] | None = None  # (question, action) awaiting y/n
        self.peek: list[str] | None = None
        self.quit = False
        self.dirty = True
        self.trace = os.environ.get("TUTTI_WATCH_TRACE")
        self._pending_trace: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    # -- the loop -----------------------------------------------------------------------------
    def run(self) -> None:
        from rich.console import Console
        from rich.live import Live

        from tutti.store.wakeup import StoreWakeup

        console = Console()
        last_tick = 0.0
        with StoreWakeup(self.ws.store.path) as wake:
            fds = [sys.stdin.fileno(), *wake.fds]
            with _cbreak(sys.stdin.fileno()), Live(console=console, screen=True, auto_refresh=False,
                                                    redirect_stdout=False, redirect_stderr=False) as live:
                self.live = live
                while not self.quit:
                    now = time.monotonic()
                    # At most one frame per MIN_FRAME_SECS: a burst of events is drawn once.
                    if (self.dirty and now - last_tick >= MIN_FRAME_SECS) or now - last_tick >= TICK_SECS:
                        self._draw(live, console)
                        last_tick = now
                    wait = (MIN_FRAME_SECS if self.dirty else TICK_SECS) - (time.monotonic() - last_tick)
                    if self.model.usage_due is not None:
                        wait = min(wait, self.model.usage_due - time.monotonic())
                    ready, _, _ = select.select(fds, [], [], max(0.0, wait))
                    wake.drain(ready)
                    if sys.stdin.fileno() in ready:
                        self._keys(os.read(sys.stdin.fileno(), 1024).decode("utf-8", "replace"))
                    self._events()

    def _events(self) -> None:
        with self._lock:
            events = self.model.read_new()
            if self.model.tick():
                self.dirty = True
        if events:
            self.dirty = True
            if self.trace:
                self._pending_trace += [(e.seq, e.ts) for e in events if e.kind.startswith("agent.")]
            if self.peek is not None and any(e.agent == self._agent() for e in events):
                self._do_peek()

    def _draw(self, live: Any, console: Any) -> None:
        from tutti.cli.watch_view import build

        width, height = console.size
        with self._lock:
            self.selected = min(self.selected, max(0, len(self.model.agents) - 1))
            question = f"{self.confirm[0]} [y/N]" if self.confirm else self.message
            view = build(self.model, selected=self.selected, width=width, height=height, message=question,
                         peek=self.peek, prompt=self.prompt)
        live.update(view, refresh=True)
        self.dirty = False
        if self._pending_trace:
            shown = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            with open(self.trace, "a", encoding="utf-8") as fh:
                fh.writelines(json.dumps({"seq": s, "event_ts": ts, "shown_ts": shown}) + "\n"
                              for s, ts in self._pending_trace)
            self._pending_trace = []

    # -- keys ---------------------------------------------------------------------------------
    def _keys(self, data: str) -> None:
        self.dirty = True
        i = 0
        while i < len(data):
            if data.startswith(("\x1b[A", "\x1bOA"), i):
                self._move(-1)
                i += 3
                continue
            if data.startswith(("\x1b[B", "\x1bOB"), i):
                self._move(1)
                i += 3
                continue
            self._key(data[i])
            i += 1

    def _key(self, ch: str) -> None:
        if self.prompt is not None:
            self._prompt_key(ch)
            return
        if self.confirm is not None:
            question, action = self.confirm
            self.confirm = None
            self.message = "" if ch not in "yY" else "working…"
            if ch in "yY":
                self._background(action)
            return
        handlers = {"q": self._quit, "k": lambda: self._move(-1), "j": lambda: self._move(1),
                    "p": self._toggle_peek, "a": self._attach, "s": self._start_send, "A": self._ask_approve,
                    "L": self._ask_land, "f": self._jump_failing, "\x03": self._quit}
        handler = handlers.get(ch)
        if handler is not None:
            handler()

    def _prompt_key(self, ch: str) -> None:
        if ch in "\r\n":
            text, agent, self.prompt = self.prompt or "", self._agent(), None
            if text.strip():
                self.message = f"sending to {agent}…"
                self._background(lambda: _send(self.ws, agent, text))
        elif ch == "\x1b" or ch == "\x03":
            self.prompt, self.message = None, "send cancelled"
        elif ch in "\x7f\x08":
            self.prompt = (self.prompt or "")[:-1]
        elif ch >= " ":
            self.prompt = (self.prompt or "") + ch

    def _quit(self) -> None:
        self.quit = True

    def _move(self, step: int) -> None:
        self.selected = max(0, min(len(self.model.agents) - 1, self.selected + step))
        if self.peek is not None:
            self._do_peek()

    def _agent(self) -> str:
        names = list(self.model.agents)
        return names[min(self.selected, len(names) - 1)] if names else ""

    def _jump_failing(self) -> None:
        names = list(self.model.agents)
        failing = [i for i, n in enumerate(names) if self.model.agents[n].failing]
        if not failing:
            self.message = "no agent is failing or waiting"
            return
        after = [i for i in failing if i > self.selected]
        self.selected = (after or failing)[0]
        self.message = f"{names[self.selected]}: {self.model.agents[names[self.selected]].state}"

    def _toggle_peek(self) -> None:
        if self.peek is not None:
            self.peek = None
            return
        self._do_peek()

    def _do_peek(self) -> None:
        from tutti.errors import TuttiError
        from tutti.ops.agents import peek

        try:
            lines = peek(self.ws, self._agent(), lines=0).rstrip("\n").splitlines()
        except TuttiError as exc:
            lines = [exc.message]
        self.peek = [line for line in lines if line.strip()][-8:] or ["(blank screen)"]

    def _start_send(self) -> None:
        self.prompt = ""

    def _ask_land(self) -> None:
        agent = self._agent()
        self.confirm = (f"land {agent}'s commits onto the current branch?", lambda: _land(self.ws, agent))

    def _ask_approve(self) -> None:
        from tutti.ops.approvals import list_approvals

        pending = list_approvals(self.ws, status="pending")
        if not pending:
            self.message = "no pending approvals"
            return
        first = pending[0]
        what = getattr(first, "tool", "") or "approval"
        self.confirm = (f"approve {first.approval_id} ({what}) of run {first.run_id}?",
                        lambda: _approve(self.ws, first.approval_id))

    def _attach(self) -> None:
        from tutti.errors import ForeignSession
        from tutti.sessions.tmux import TmuxBackend

        backend = TmuxBackend()
        session = self.ws.session_name(self._agent())
        try:
            running = backend.exists(session)
        except ForeignSession as exc:  # another folder's agent under the same name
            self.message = exc.message
            return
        if not running:
            self.message = f"{self._agent()} is not running (tt up {self._agent()})"
            return
        import subprocess

        env = dict(os.environ)
        if backend.socket:
            env.pop("TMUX", None)  # a private server is not nested in the user's tmux session
        self.live.stop()
        with _cooked(sys.stdin.fileno()):
            subprocess.run(backend.attach_argv(session), env=env, check=False)
        self.live.start(refresh=True)
        self.message = f"back from {self._agent()}"

    def _background(self, action: Any) -> None:
        def run() -> None:
            from tutti.errors import TuttiError

            try:
                text = action()
            except TuttiError as exc:
                text = f"error[{exc.category}]: {exc.message}"
            except Exception as exc:  # noqa: BLE001 — shown on the footer, the view keeps running
                text = f"error: {type(exc).__name__}: {exc}"
            self.message = text
            self.dirty = True

        threading.Thread(target=run, name="tutti-watch-action", daemon=True).start()


def _send(ws: Workspace, agent: str, text: str) -> str:
    from tutti.ops.send import send

    res = send(ws, agent, text, wait=False)
    return f"sent to {agent}" + (" (acknowledged)" if res.delivery else "")


def _land(ws: Workspace, agent: str) -> str:
    from tutti.ops.land import land

    res = land(ws, agent)
    return f"landed {res.landed} commit(s) from {agent}"


def _approve(ws: Workspace, approval_id: str) -> str:
    from tutti.ops.approvals import decide

    decide(ws, approval_id, True, by="tt watch")
    return f"approved {approval_id}"


@contextmanager
def _cbreak(fd: int):
    """Keys arrive one by one, unechoed; Ctrl+C is a key (q quits)."""
    if not os.isatty(fd):
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextmanager
def _cooked(fd: int):
    if not os.isatty(fd):
        yield
        return
    import termios

    saved = termios.tcgetattr(fd)
    normal = termios.tcgetattr(fd)
    normal[3] |= termios.ECHO | termios.ICANON
    termios.tcsetattr(fd, termios.TCSADRAIN, normal)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
