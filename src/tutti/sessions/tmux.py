"""`TmuxBackend`: agent sessions over the `tmux` binary (every call goes through `tutti.proc`).

Differences from the original tool, on purpose (inventory §5.5, §12.9–10, §12.13):
- fixed window size (200×50, `window-size manual`) so lines never wrap differently between
  captures and a control client or a small attached terminal cannot resize it;
- the agent argv runs directly as the pane's process (no shell typed into), environment passed
  with `new-session -e` — nothing is ever typed into the pane as an `export` line;
- `remain-on-exit on`: a crashed agent leaves its last screen, and the pane is reported dead;
- prompts go through a uniquely named paste buffer as one bracketed paste, then exactly one
  Enter — no blind extra Enters.

`TUTTI_TMUX_SOCKET` selects a dedicated server (`tmux -L NAME`) so tests and sandboxes never
touch the user's own tmux server.
"""

from __future__ import annotations

import os
import shlex
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from tutti import proc, proctree
from tutti.errors import AgentNotRunning, ForeignSession, SessionError
from tutti.sessions.naming import foreign_root
from tutti.sessions.pane import PaneInfo

SOCKET_ENV = "TUTTI_TMUX_SOCKET"
_TIMEOUT = 20.0
# The last field is the workspace root the session was launched for (`@tutti_root`): read in
# the same call as the pane, so the ownership check (tutti.sessions.naming) costs no tmux call.
_PANE_FORMAT = ("#{pane_id}\t#{pane_pid}\t#{pane_dead}\t#{pane_dead_status}\t#{pane_width}\t#{pane_height}"
                "\t#{@tutti_root}")
_FIELDS = 7
ROOT_OPTION = "@tutti_root"
_NO_SERVER = ("no server running", "error connecting", "no current", "No such file or directory")


def session_target(session: str) -> str:
    """Exact-match target: `=name` never matches `name-2` by prefix."""
    return f"={session}"


def pane_target(session: str) -> str:
    return f"={session}:"


class TmuxBackend:
    name = "tmux"

    def __init__(self, socket: str | None = None, binary: str = "tmux") -> None:
        self.socket = socket if socket is not None else (os.environ.get(SOCKET_ENV) or None)
        self.binary = binary

    # -- plumbing -------------------------------------------------------------------------
    def argv(self, *args: str) -> list[str]:
        base = [self.binary]
        if self.socket:
            base += ["-L", self.socket]
        return base + list(args)

    def _run(self, *args: str, input: str | bytes | None = None, check: bool = True) -> proc.ProcResult:
        if shutil.which(self.binary) is None:
            raise SessionError("tmux is not installed", hint="Install tmux: apt install tmux / brew install tmux")
        res = proc.run(self.argv(*args), input=input, timeout=_TIMEOUT)
        if check and not res.ok:
            detail = (res.stderr.strip() or res.stdout.strip() or f"exit {res.returncode}").splitlines()[-1]
            raise SessionError(f"tmux command failed: tmux {args[0]}: {detail}",
                               hint="check that the tmux server is running (`tmux ls`)")
        return res

    # -- lifecycle ------------------------------------------------------------------------
    def create(self, session: str, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
               width: int = 200, height: int = 50) -> PaneInfo:
        if self.exists(session):
            raise SessionError(f"tmux session '{session}' already exists", hint=f"stop it first: tt down, or tmux kill-session -t {session}")
        if not argv:
            raise SessionError(f"empty launch command for session '{session}'")
        args = ["new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), "-c", str(cwd)]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        # Several arguments are exec'd by tmux directly (no shell parses them); a single one
        # is a shell-command, so quote it.
        args += ["--", *argv] if len(argv) > 1 else ["--", shlex.join(argv)]
        # Chained in the same tmux invocation, so the options are in place before the server
        # loop can notice an agent that exits at once.
        win = pane_target(session)
        root = env.get("TUTTI_WORKSPACE_ROOT") or getattr(session, "root", "")
        if root:  # whose session this is (see tutti.sessions.naming)
            args += [";", "set-option", "-t", win, ROOT_OPTION, root]
        args += [";", "set-option", "-w", "-t", win, "remain-on-exit", "on",
                 ";", "set-option", "-w", "-t", win, "window-size", "manual",
                 ";", "set-option", "-t", win, "history-limit", "10000"]
        self._run(*args)
        info = self.pane(session)
        if info is None:
            raise SessionError(f"tmux session '{session}' vanished right after creation")
        return info

    def exists(self, session: str) -> bool:
        """Whether the session exists; raises ForeignSession when it is another root's."""
        if shutil.which(self.binary) is None:
            return False
        if getattr(session, "root", ""):
            return self.pane(session) is not None
        return self._run("has-session", "-t", session_target(session), check=False).ok

    def kill(self, session: str) -> bool:
        """Kill the session and every process of its agent: tmux only sends SIGHUP, which
        Node-based CLIs (Gemini CLI) ignore — they would live on as orphans."""
        if not self.exists(session):
            return False
        pid = self.pane_pid(session)
        tree = proctree.descendants(pid) if pid else []
        res = self._run("kill-session", "-t", session_target(session), check=False)
        if tree:
            proc.terminate_tree(tree)
        return res.ok

    def list(self) -> list[str]:
        if shutil.which(self.binary) is None:
            return []
        res = self._run("list-sessions", "-F", "#{session_name}", check=False)
        if not res.ok:
            return []
        return [line for line in res.stdout.splitlines() if line]

    def panes(self) -> dict[str, PaneInfo]:
        """Every session's (first) pane in one tmux call: session name → PaneInfo."""
        if shutil.which(self.binary) is None:
            return {}
        res = self._run("list-panes", "-a", "-F", "#{session_name}\t" + _PANE_FORMAT, check=False)
        return _pane_listing(res.stdout) if res.ok else {}

    def pane(self, session: str) -> PaneInfo | None:
        # list-panes, not display-message: the latter "succeeds" with empty fields for a
        # session that does not exist.
        res = self._run("list-panes", "-t", pane_target(session), "-F", _PANE_FORMAT, check=False)
        if not res.ok or not res.stdout.strip():
            return None
        parts = res.stdout.splitlines()[0].split("\t")
        return _owned(session, _pane_info(session, parts)) if len(parts) == _FIELDS else None

    def pane_pid(self, session: str) -> int | None:
        info = self.pane(session)
        return info.pid if info else None

    def set_env(self, session: str, key: str, value: str) -> None:
        self._require(session)
        self._run("set-environment", "-t", pane_target(session), key, value)

    # -- input ----------------------------------------------------------------------------
    def send_text(self, session: str, text: str, *, submit: bool = True, submit_delay: float = 0.0) -> None:
        self._require(session)
        buffer = f"tutti-{uuid.uuid4().hex}"
        self._run("load-buffer", "-b", buffer, "-", input=text.encode("utf-8"))
        # -p: bracketed paste when the application asked for it, so a multi-line prompt is one
        # input, not one submission per line; -d deletes the buffer afterwards.
        self._run("paste-buffer", "-d", "-p", "-b", buffer, "-t", pane_target(session))
        if submit:
            if submit_delay > 0:
                time.sleep(submit_delay)
            self._run("send-keys", "-t", pane_target(session), "Enter")

    def send_keys(self, session: str, *keys: str) -> None:
        self._require(session)
        if keys:
            self._run("send-keys", "-t", pane_target(session), *keys)

    # -- output ---------------------------------------------------------------------------
    def capture(self, session: str, *, scrollback: int = 0) -> str:
        args = ["capture-pane", "-p", "-J", "-t", pane_target(session)]
        if scrollback > 0:
            args += ["-S", f"-{scrollback}"]
        owner = getattr(session, "root", "")
        if owner:  # the pane's root first, in the same call
            args = ["display-message", "-p", "-t", pane_target(session), "#{@tutti_root}", ";", *args]
        res = self._run(*args, check=False)
        if not res.ok:
            raise AgentNotRunning(f"session '{session}' is not running", hint="Start the agent first: tt up <agent>")
        text = res.stdout
        if owner:
            launched_by, _, text = text.partition("\n")
            other = foreign_root(session, launched_by)
            if other:
                raise ForeignSession(session, other, owner)
        return _screen_text(text)

    def snapshot(self, session: str) -> tuple[PaneInfo | None, str]:
        """Pane info and visible screen in ONE tmux call (the watcher's hot path)."""
        target = pane_target(session)
        res = self._run("list-panes", "-t", target, "-F", _PANE_FORMAT, ";",
                        "capture-pane", "-p", "-J", "-t", target, check=False)
        head, _, screen = res.stdout.partition("\n")
        parts = head.split("\t")
        if not res.ok or len(parts) != _FIELDS:
            return None, ""
        info = _pane_info(session, parts)
        # Another root's session: its pane (root set) so callers can say so, never its screen.
        return info, "" if foreign_root(session, info.root) else _screen_text(screen)

    def snapshots(self, sessions: Sequence[str]) -> dict[str, tuple[PaneInfo | None, str]]:
        """`snapshot` of many sessions (`tt status`) in ONE tmux call when they all exist: a
        `list-panes -a`, then a `capture-pane` of each, separated by a unique marker. tmux stops
        a chain at its first failing command (a session that is not running), so otherwise the
        listing (which came first) says which are live and they are captured in a second call;
        if a session ended between the two, the live ones are read one at a time instead."""
        if not sessions or shutil.which(self.binary) is None:
            return {s: (None, "") for s in sessions}
        marker = f"tutti-screen-end-{uuid.uuid4().hex}"
        listing = ["list-panes", "-a", "-F", "#{session_name}\t" + _PANE_FORMAT, ";", "display-message", "-p", marker]
        res = self._run(*listing, ";", *self._capture_chain(sessions, marker), check=False)
        chunks = res.stdout.split(marker + "\n")
        panes = _pane_listing(chunks[0]) if len(chunks) > 1 else {}  # no listing: no server
        if res.ok and len(chunks) == len(sessions) + 2 and all(s in panes for s in sessions):
            return {s: _mine(s, panes[s], chunk) for s, chunk in zip(sessions, chunks[1:])}
        out: dict[str, tuple[PaneInfo | None, str]] = {s: (None, "") for s in sessions if s not in panes}
        live = [s for s in sessions if s in panes]
        if not live:
            return out
        res = self._run(*self._capture_chain(live, marker), check=False)
        chunks = res.stdout.split(marker + "\n")
        if not res.ok or len(chunks) != len(live) + 1:
            out.update((s, self.snapshot(s)) for s in live)
            return out
        out.update((s, _mine(s, panes[s], chunk)) for s, chunk in zip(live, chunks))
        return out

    @staticmethod
    def _capture_chain(sessions: Sequence[str], marker: str) -> list[str]:
        args: list[str] = []
        for session in sessions:
            args += ["capture-pane", "-p", "-J", "-t", pane_target(session), ";", "display-message", "-p", marker, ";"]
        return args[:-1]

    def control_argv(self, session: str) -> list[str]:
        """argv of a control-mode client attached to `session` (for the watcher)."""
        self._require(session)
        return self.argv("-C", "attach-session", "-f", "ignore-size", "-t", session_target(session))

    def attach_argv(self, session: str) -> list[str]:
        if getattr(session, "root", ""):
            self.exists(session)  # another root's session: ForeignSession
        if os.environ.get("TMUX") and not self.socket:
            return self.argv("switch-client", "-t", session_target(session))
        return self.argv("attach-session", "-t", session_target(session))

    def set_status_bar(self, session: str, left: str) -> None:
        self._require(session)
        target = pane_target(session)
        for option, value in (("status", "on"), ("status-style", "bg=#1a1a2e,fg=#e0e0e0"),
                              ("status-left-length", "120"), ("status-left", left)):
            self._run("set-option", "-t", target, option, value, check=False)

    def _require(self, session: str) -> None:
        if not self.exists(session):
            raise AgentNotRunning(f"session '{session}' is not running", hint="Start the agent first: tt up <agent>")


def _pane_listing(text: str) -> dict[str, PaneInfo]:
    """`list-panes -a` output (session name first) → each session's first pane."""
    out: dict[str, PaneInfo] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == _FIELDS + 1 and parts[0] not in out:
            out[parts[0]] = _pane_info(parts[0], parts[1:])
    return out


def _screen_text(chunk: str) -> str:
    lines = [line.rstrip() for line in chunk.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _mine(session: str, pane: PaneInfo, chunk: str) -> tuple[PaneInfo, str]:
    """(pane, screen) of a listed session; another root's screen is never handed out."""
    return pane, "" if foreign_root(session, pane.root) else _screen_text(chunk)


def _owned(session: str, pane: PaneInfo) -> PaneInfo:
    """`pane` when the session is ours (or its owner is unknown); ForeignSession otherwise."""
    other = foreign_root(session, pane.root)
    if other:
        raise ForeignSession(session, other, getattr(session, "root", ""))
    return pane


def _pane_info(session: str, parts: list[str]) -> PaneInfo:
    pane_id, pid, dead, status, width, height, root = parts
    return PaneInfo(
        session=session, pane_id=pane_id, pid=int(pid) if pid.isdigit() else None, dead=dead == "1",
        dead_status=int(status) if status.lstrip("-").isdigit() else None,
        width=int(width) if width.isdigit() else 0, height=int(height) if height.isdigit() else 0, root=root,
    )
