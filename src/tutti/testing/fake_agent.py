"""A fake coding-agent CLI: a real terminal program that looks and behaves like one.

    python -m tutti.testing.fake_agent [--look claude|codex|gemini|aider] [--script FILE]
                                       [--prompt TEXT] [--permission-mode bypass]

It draws a banner, an input box, and — after a prompt — a spinner with a timer and "esc to
interrupt", then an answer and the idle prompt again. Prompts arrive typed or as a bracketed
paste (`ESC[200~ … ESC[201~`, what `tmux paste-buffer -p` sends), so a multi-line prompt is
ONE prompt submitted by Enter. A script (`--script` or `TUTTI_FAKE_SCRIPT`, see
`fake_script.py`) decides per prompt: work N seconds, write files, commit, reply, or fail
(auth / rate_limit / provider_down / crash / dialog). Every received prompt is recorded
verbatim as a JSON line to `TUTTI_FAKE_RECORD` when set.

Idle, it blocks in `select()` and draws nothing, like a real agent, so watchers see no output.
"""

from __future__ import annotations

import argparse
import codecs
import os
import select
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from tutti.testing.fake_looks import LOOKS, View, get_look, input_summary
from tutti.testing.fake_script import Action, Script, load_script

PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
FRAME_SECS = 0.25
DIALOG_AFTER_SECS = 0.3


@dataclass
class Job:
    prompt: str
    n: int
    action: Action
    started: float
    asked: bool = False  # dialog shown and answered
    approved: bool = True


@dataclass
class Agent:
    look_name: str
    script: Script
    cwd: Path
    record: Path | None = None
    bypass: bool = False
    transcript: list[str] = field(default_factory=list)
    input: str = ""
    pastes: int = 0
    queue: list[str] = field(default_factory=list)
    job: Job | None = None
    prompts: int = 0
    exit_code: int | None = None
    usage_log: object | None = None  # fake_usage.UsageLog: the real CLI's usage log for this look

    def __post_init__(self) -> None:
        self.look = get_look(self.look_name)
        self.transcript += self.look.banner(self.view(80))

    # -- rendering ----------------------------------------------------------------------------
    def view(self, cols: int) -> View:
        now = time.monotonic()
        state = "idle"
        if self.job is not None:
            state = "waiting" if self._dialog_open() else "working"
        elapsed = now - self.job.started if self.job else 0.0
        return View(cwd=str(self.cwd), cols=cols, state=state,
                    input=input_summary(self.input, self.pastes), elapsed=elapsed,
                    frame=int(elapsed / FRAME_SECS), bypass=self.bypass,
                    dialog_path=self._dialog_path(), context_left=max(5, 100 - 3 * self.prompts))

    def screen(self, cols: int, rows: int) -> list[str]:
        v = self.view(cols)
        bottom = self.look.live(v) + self.look.composer(v)
        lines = [*_wrap(self.transcript, cols), *_wrap(bottom, cols)]
        return lines[-rows:]

    # -- input ---------------------------------------------------------------------------------
    def on_text(self, text: str) -> None:
        if self._dialog_open():
            self._answer_dialog(text)
            return
        self.input += text

    def on_paste(self, text: str) -> None:
        if self._dialog_open():
            return  # a paste is never an answer to a dialog
        self.pastes += 1
        self.input += text.replace("\r\n", "\n").replace("\r", "\n")

    def on_key(self, key: str) -> None:
        if self._dialog_open():
            self._answer_dialog(key)
            return
        if key == "enter":
            if self.input.strip():
                prompt, self.input = self.input, ""
                self.submit(prompt)
        elif key == "backspace":
            self.input = self.input[:-1]
        elif key == "ctrl-u":
            self.input = ""
        elif key in ("esc", "ctrl-c") and self.job is not None:
            self.transcript += ["  ⎿  Interrupted by user", ""]
            self.job = None
            self._next_from_queue()
        elif key == "ctrl-c" and self.input:
            self.input = ""
        elif key in ("ctrl-c", "ctrl-d"):
            self.exit_code = 0

    def submit(self, prompt: str) -> None:
        if self.job is not None:
            self.queue.append(prompt)
            return
        self.prompts += 1
        self._record(prompt)
        self.transcript += self.look.echo(prompt)
        self.job = Job(prompt, self.prompts, self.script.action_for(prompt, self.prompts), time.monotonic())

    # -- time ----------------------------------------------------------------------------------
    def tick(self) -> None:
        job = self.job
        if job is None or self._dialog_open():
            return
        if time.monotonic() - job.started < job.action.work_secs:
            return
        self.job = None
        self.finish(job)
        self._next_from_queue()

    def finish(self, job: Job) -> None:
        act = job.action
        secs = time.monotonic() - job.started
        if act.fail in ("auth", "rate_limit", "provider_down"):
            self.transcript += self.look.error(act.fail)
            return
        if act.fail == "crash":
            self.transcript += self.look.error("crash")
            self.exit_code = act.exit_code or 1
            return
        if not job.approved:
            self.transcript += self.look.declined(self._dialog_path(job))
            return
        problems = self._apply(act)
        reply = act.reply if not problems else "\n".join([act.reply, *problems])
        self.transcript += self.look.answer(reply, secs)
        if self.usage_log is not None:
            self.usage_log.turn(job.prompt, reply)

    def _apply(self, act: Action) -> list[str]:
        """Perform the scripted file writes and commit; problems become part of the answer."""
        from tutti.paths import inside

        problems: list[str] = []
        for w in act.writes:
            target = self.cwd / w.path
            if not inside(self.cwd, target):
                problems.append(f"refused to write outside the working directory: {w.path}")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "a" if w.append else "w", encoding="utf-8") as fh:
                fh.write(w.content)
        if act.commit:
            from tutti import proc

            add = proc.run(["git", "add", "-A"], cwd=self.cwd, timeout=60)
            res = proc.run(["git", "commit", "-q", "-m", act.commit], cwd=self.cwd, timeout=60) if add.ok else add
            if not res.ok:
                detail = (res.stderr.strip() or res.stdout.strip()).splitlines()
                problems.append(f"git commit failed: {detail[-1] if detail else res.returncode}")
        return problems

    def _next_from_queue(self) -> None:
        if self.queue and self.job is None and self.exit_code is None:
            self.submit(self.queue.pop(0))

    # -- dialogs -------------------------------------------------------------------------------
    def _dialog_open(self) -> bool:
        job = self.job
        return (job is not None and job.action.fail == "dialog" and not job.asked
                and time.monotonic() - job.started >= min(DIALOG_AFTER_SECS, job.action.work_secs))

    def _dialog_path(self, job: Job | None = None) -> str:
        job = job or self.job
        if job is not None and job.action.writes:
            return job.action.writes[0].path
        return "changes.txt"

    def _answer_dialog(self, key: str) -> None:
        job = self.job
        if job is None:
            return
        if key in ("1", "y", "Y", "enter", "a"):
            job.approved = True
        elif key in ("2", "3", "n", "N", "esc", "ctrl-c"):
            job.approved = False
        else:
            return  # other keys do nothing while a dialog is open
        job.asked = True
        job.started = time.monotonic() - DIALOG_AFTER_SECS  # resume the remaining work

    def _record(self, prompt: str) -> None:
        path = self.record
        if path is None:
            return
        import json

        line = json.dumps({"n": self.prompts, "prompt": prompt, "look": self.look_name,
                           "cwd": str(self.cwd), "time": time.time()}, ensure_ascii=False)
        # One O_APPEND write per record, so readers see whole lines from concurrent agents.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            data = (line + "\n").encode("utf-8")
            while data:
                data = data[os.write(fd, data):]
        finally:
            os.close(fd)


def _wrap(lines: list[str], cols: int) -> list[str]:
    """Hard-wrap to the terminal width so the layout never depends on terminal wrapping."""
    out: list[str] = []
    cols = max(cols, 10)
    for line in lines:
        while len(line) > cols:
            out.append(line[:cols])
            line = line[cols:]
        out.append(line)
    return out


class InputParser:
    """Bytes from the terminal → text, pastes and keys. Keeps state across reads."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.buf = ""
        self.paste: list[str] | None = None

    def feed(self, data: bytes, *, final: bool = False) -> None:
        self.buf += self.decoder.decode(data, final)
        self._drain(final)

    def _drain(self, final: bool) -> None:
        a = self.agent
        while self.buf:
            if self.paste is not None:
                end = self.buf.find(PASTE_END)
                if end < 0:
                    keep = _partial_suffix(self.buf, PASTE_END)
                    self.paste.append(self.buf[:len(self.buf) - keep])
                    self.buf = self.buf[len(self.buf) - keep:]
                    return
                self.paste.append(self.buf[:end])
                self.buf = self.buf[end + len(PASTE_END):]
                a.on_paste("".join(self.paste))
                self.paste = None
                continue
            ch = self.buf[0]
            if ch == "\x1b":
                if self.buf.startswith(PASTE_START):
                    self.buf = self.buf[len(PASTE_START):]
                    self.paste = []
                    continue
                seq = _escape_length(self.buf)
                if seq == 0:  # incomplete sequence: wait for more bytes unless input ended
                    if not final:
                        return
                    seq = 1
                if seq == 1:
                    a.on_key("esc")
                self.buf = self.buf[seq:]
                continue
            self.buf = self.buf[1:]
            if ch in "\r\n":
                a.on_key("enter")
            elif ch in "\x7f\x08":
                a.on_key("backspace")
            elif ch == "\x03":
                a.on_key("ctrl-c")
            elif ch == "\x04":
                a.on_key("ctrl-d")
            elif ch == "\x15":
                a.on_key("ctrl-u")
            elif ch >= " " or ch == "\t":
                a.on_text(ch)

    def flush_lone_escape(self) -> None:
        """An ESC with nothing after it for a moment is the Esc key."""
        if self.buf == "\x1b" and self.paste is None:
            self.buf = ""
            self.agent.on_key("esc")


def _partial_suffix(text: str, marker: str) -> int:
    """Length of the longest suffix of `text` that is a prefix of `marker`."""
    for k in range(min(len(marker) - 1, len(text)), 0, -1):
        if marker.startswith(text[-k:]):
            return k
    return 0


def _escape_length(buf: str) -> int:
    """Length of the escape sequence at the start of `buf`; 0 if incomplete; 1 = lone ESC."""
    if len(buf) == 1:
        return 0
    if buf[1] == "[":
        for i in range(2, len(buf)):
            if "\x40" <= buf[i] <= "\x7e":
                return i + 1
        return 0
    if buf[1] == "O":
        return 3 if len(buf) >= 3 else 0
    if buf[1] == "\x1b":
        return 1
    return 2  # ESC + one char (alt-key)


class Terminal:
    """Raw-ish tty mode, bracketed paste on, full redraws without flicker."""

    def __init__(self, fd_in: int, fd_out: int) -> None:
        self.fd_in, self.fd_out = fd_in, fd_out
        self.saved = None
        self.is_tty = os.isatty(fd_in)

    def __enter__(self) -> Self:
        if self.is_tty:
            import termios

            self.saved = termios.tcgetattr(self.fd_in)
            new = termios.tcgetattr(self.fd_in)
            new[0] &= ~(termios.ICRNL | termios.IXON | termios.INLCR)
            new[3] &= ~(termios.ECHO | termios.ICANON | termios.ISIG | termios.IEXTEN)
            new[6][termios.VMIN], new[6][termios.VTIME] = 1, 0
            termios.tcsetattr(self.fd_in, termios.TCSANOW, new)
        self.write("\x1b[?2004h\x1b[?25l")  # bracketed paste on, cursor hidden
        return self

    def __exit__(self, *exc) -> None:
        self.write("\x1b[?2004l\x1b[?25h\r\n")
        if self.saved is not None:
            import termios

            termios.tcsetattr(self.fd_in, termios.TCSANOW, self.saved)

    def size(self) -> tuple[int, int]:
        try:
            sz = os.get_terminal_size(self.fd_out)
            return sz.columns, sz.lines
        except OSError:
            return 100, 40

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        while data:
            n = os.write(self.fd_out, data)
            data = data[n:]

    def draw(self, lines: list[str], rows: int, previous: list[str] | None = None) -> None:
        """Draw `lines` from the top; with `previous` of the same length only the lines that
        changed are rewritten (a spinner tick is one short line, not a whole screen)."""
        if previous is not None and len(previous) == len(lines):
            out = [f"\x1b[{i + 1};1H{line}\x1b[K" for i, (line, old) in enumerate(zip(lines, previous))
                   if line != old]
            if out:
                self.write("".join(out))
            return
        body = "\x1b[K\r\n".join(lines)
        self.write("\x1b[H" + body + "\x1b[K\x1b[J" if len(lines) < rows else "\x1b[H" + body + "\x1b[K")


def _wake_on_resize() -> int | None:
    """A pipe that becomes readable on SIGWINCH, so an idle agent redraws after a resize."""
    import signal

    try:
        r, w = os.pipe()
        os.set_blocking(w, False)
        signal.signal(signal.SIGWINCH, lambda *_: _poke(w))
        return r
    except (OSError, ValueError, AttributeError):
        return None


def _poke(fd: int) -> None:
    try:
        os.write(fd, b"x")
    except OSError:
        pass


class StateFile:
    """Claude Code's live state file, imitated (`<dir>/<pid>.json`, status idle|busy|waiting),
    when `TUTTI_FAKE_STATE_DIR` is set: the structured "turn ended" signal readers prefer to the
    screen. Written after the screen is drawn, so `idle` never precedes the visible answer."""

    STATUS = {"idle": "idle", "working": "busy", "waiting": "waiting"}

    def __init__(self, folder: Path, cwd: Path) -> None:
        from tutti import proctree

        self.path = folder / f"{os.getpid()}.json"
        self.base = {"pid": os.getpid(), "sessionId": f"fake-{os.getpid()}", "cwd": str(cwd),
                     "procStart": proctree.start_ticks(os.getpid())}
        self.status: str | None = None

    def update(self, state: str) -> None:
        status = self.STATUS.get(state, "idle")
        if status == self.status:
            return
        import json

        from tutti.fsutil import write_text_atomic

        data = {**self.base, "status": status, "statusUpdatedAt": int(time.time() * 1000)}
        if status == "waiting":
            data["waitingFor"] = "permission prompt"
        write_text_atomic(self.path, json.dumps(data), durable=False)
        self.status = status


def run(agent: Agent, fd_in: int = 0, fd_out: int = 1, initial_prompt: str | None = None) -> int:
    parser = InputParser(agent)
    wake = _wake_on_resize()
    folder = os.environ.get("TUTTI_FAKE_STATE_DIR")
    state_file = StateFile(Path(folder), agent.cwd) if folder else None
    with Terminal(fd_in, fd_out) as term:
        term.write("\x1b[2J")
        if initial_prompt:
            agent.submit(initial_prompt)
        last: list[str] | None = None
        eof = False
        while agent.exit_code is None:
            agent.tick()
            cols, rows = term.size()
            lines = agent.screen(cols, rows)
            if lines != last:
                term.draw(lines, rows, last)
                last = lines
            if state_file is not None:
                state_file.update(agent.view(cols).state)
            if agent.exit_code is not None:
                break
            if eof:
                if agent.job is None:
                    break  # input closed and nothing left to do
                time.sleep(FRAME_SECS)
                continue
            timeout = FRAME_SECS if agent.job is not None else None
            if parser.buf == "\x1b":
                timeout = 0.05
            watched = [fd_in] if wake is None else [fd_in, wake]
            ready, _, _ = select.select(watched, [], [], timeout)
            if wake is not None and wake in ready:
                os.read(wake, 4096)  # resized: loop around and redraw
                last = None
                if fd_in not in ready:
                    continue
            if not ready:
                parser.flush_lone_escape()
                continue
            data = os.read(fd_in, 65536)
            if not data:
                parser.feed(b"", final=True)
                eof = True
                continue
            parser.feed(data)
    return agent.exit_code or 0


def _env_float(name: str) -> float | None:
    try:
        return float(os.environ[name]) if os.environ.get(name) else None
    except ValueError:
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tutti.testing.fake_agent",
                                 description="A fake coding-agent CLI for rehearsals and tests.")
    ap.add_argument("--look", choices=sorted(LOOKS), default=None,
                    help="which real CLI to imitate (default: claude, or the script's `look`)")
    ap.add_argument("--script", default=os.environ.get("TUTTI_FAKE_SCRIPT"),
                    help="TOML/JSON script of per-prompt behaviour (env TUTTI_FAKE_SCRIPT)")
    ap.add_argument("--prompt", default=None, help="an initial prompt, submitted at start")
    ap.add_argument("--permission-mode", default="default", help="`bypass` shows the bypass footer")
    ap.add_argument("--work-secs", type=float, default=_env_float("TUTTI_FAKE_WORK_SECS"),
                    help="override the default work time (env TUTTI_FAKE_WORK_SECS)")
    args = ap.parse_args(argv)

    from tutti.errors import TuttiError

    try:
        script = load_script(Path(args.script)) if args.script else Script()
    except TuttiError as exc:
        sys.stderr.write(f"error[{exc.category}]: {exc.message}\n")
        if exc.hint:
            sys.stderr.write(f"  hint: {exc.hint}\n")
        return 2
    if args.work_secs is not None:
        script.work_secs = args.work_secs
    look = args.look or os.environ.get("TUTTI_FAKE_LOOK") or script.look or "claude"
    if look not in LOOKS:
        sys.stderr.write(f"error[config]: unknown look '{look}'\n  hint: use one of: {', '.join(LOOKS)}\n")
        return 2
    record = os.environ.get("TUTTI_FAKE_RECORD")
    agent = Agent(look_name=look, script=script, cwd=Path.cwd(), record=Path(record) if record else None,
                  bypass=args.permission_mode.lower().startswith("bypass"))
    from tutti.testing.fake_usage import UsageLog

    agent.usage_log = UsageLog(look, agent.cwd, script.usage)
    try:
        return run(agent, initial_prompt=args.prompt)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
