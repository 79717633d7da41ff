"""The watcher loop: pane observations → state-change events, for one workspace.

One `Watcher` per workspace attaches a tmux control-mode client (`tutti.sessions.control`) to
each agent session. When a pane writes (`%output`), the pane is classified at once
(`tutti.runtimes.observe.classify_pane`; leading edge, throttled while output keeps streaming)
and again when output settles (`settle_secs` of quiet). Nothing is captured while a pane is
silent, so idle agents cost (almost) nothing.

On a state change the watcher appends ONE event to the workspace store (`agent.working`,
`agent.idle`, `agent.waiting`, `agent.auth_failed`, `agent.rate_limited`,
`agent.provider_down`, `agent.stopped`; data `{from, to, evidence, detail, source}`), updates
`.tutti/state/{agent}.json`, appends what the pane printed to `.tutti/logs/{agent}.log`, and
hands the transition to the supervisor's reactions: recovery (`tutti.supervisor.recovery`)
and auto-handoff (`tutti.supervisor.handoff`).

It runs inside the background supervisor process (`python -m tutti.supervisor ROOT`, see
`tutti.supervisor.process`) or as a thread of `tt serve` (`tutti.supervisor.core.Supervisor`);
an exclusive per-workspace lock makes sure only one of them emits events.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from dataclasses import dataclass, field

from tutti.errors import TuttiError
from tutti.runtimes.base import AgentState, Detection, RuntimeAdapter
from tutti.runtimes.observe import classify_pane
from tutti.runtimes.registry import adapter_for
from tutti.sessions import agent_state
from tutti.sessions.control import ControlClient
from tutti.sessions.naming import foreign_root
from tutti.sessions.screen import pane_delta
from tutti.sessions.tmux import TmuxBackend
from tutti.store.db import now_iso
from tutti.supervisor.handoff import AutoHandoff
from tutti.workspace import Workspace

MAX_THROTTLE_SECS = 1.0
LOG_SCROLLBACK = 300
LOG_MAX_BYTES = 8 << 20


@dataclass
class _Pane:
    agent: str
    session: str
    adapter: RuntimeAdapter
    state: AgentState
    client: ControlClient | None = None
    pane_id: str | None = None
    last_output: float = 0.0
    last_classified: float = 0.0
    dirty: bool = False  # output arrived since the last classification
    same: int = 0  # streaming classifications in a row that found no change (backs the throttle off)
    unsettled: bool = False  # output arrived since the last settle classification
    log_screen: str = ""
    evidence: list[str] = field(default_factory=list)


class Watcher:
    def __init__(self, ws: Workspace, backend: TmuxBackend | None = None, *, settle_secs: float = 0.3,
                 throttle_secs: float = 0.1, rescan_secs: float = 5.0, write_logs: bool = True,
                 recover: bool = True) -> None:
        self.ws = ws
        self.backend = backend or TmuxBackend()
        self.settle_secs = settle_secs
        self.throttle_secs = throttle_secs
        self.rescan_secs = rescan_secs
        self.write_logs = write_logs
        self.panes: dict[str, _Pane] = {}
        self._queue: queue.Queue[tuple[str, str]] = queue.Queue()
        self.classifications = 0  # how many captures+classifies ran (benchmarks read it)
        self._config_mtime: float | None = None
        self.recover = recover
        self.recovery = None  # tutti.supervisor.recovery.Recovery, created when watching starts
        self.handoff = AutoHandoff(ws)

    # -- public -------------------------------------------------------------------------
    def run(self, stop: threading.Event | None = None, *, exit_when_empty: bool = True,
            startup_grace: float = 10.0, exclusive: bool = True) -> bool:
        """Watch until `stop` is set (or, with `exit_when_empty`, no session remains).

        `exclusive`: take the workspace's watcher lock first, so a background watcher and one
        inside `tt serve` never both emit events; returns False at once if another holds it
        (callers that must keep watching retry later: the other one exits with its last session).
        """
        lock = try_lock(self.ws) if exclusive else None
        if exclusive and lock is None:
            return False
        stop = stop or threading.Event()
        self._start_recovery()
        started = time.monotonic()
        next_rescan = 0.0
        try:
            while not stop.is_set():
                now = time.monotonic()
                if now >= next_rescan:
                    self.rescan()
                    next_rescan = now + self.rescan_secs
                    pending = self.recovery is not None and self.recovery.busy()
                    if not self.panes and exit_when_empty and now - started >= startup_grace and not pending:
                        return True  # (a restart waiting for its backoff keeps us alive)
                timeout = max(0.0, min(next_rescan, self._next_deadline()) - time.monotonic())
                try:
                    kind, who = self._queue.get(timeout=min(timeout, 1.0))
                except queue.Empty:
                    kind, who = "", ""
                if kind == "rescan":
                    next_rescan = 0.0
                elif kind == "output":
                    self._on_output(who)
                self._drain_queue()
                self._due()
                self._recover_due()
            return True
        finally:
            for p in self.panes.values():
                if p.client:
                    p.client.stop()
            if lock is not None:
                lock.close()

    def rescan(self) -> None:
        """Attach to new sessions of the workspace, notice dead and vanished ones."""
        self._reload_config()
        live = self.backend.panes()
        for agent in self.ws.config.agents:
            session = self.ws.session_name(agent.name)
            if session in live and foreign_root(session, live[session].root):
                del live[session]  # another folder's agent under the same name: not ours to watch
            if self.recovery is not None and self.recovery.restarting(agent.name):
                continue  # picked up again by the first rescan after the restart
            p = self.panes.get(agent.name)
            if p is not None and session in live and p.client is not None and p.client.exited:
                self._detach(p, gone=False)  # our control client died (not the session): reattach
                p = None
            if session in live and p is None:
                self._attach(agent.name, session, live[session].pane_id)
            elif session not in live and p is not None:
                self._detach(p, gone=True)
            elif p is not None and live[session].dead and p.state is not AgentState.STOPPED:
                self._classify(p, settle=True)

    # -- internals ----------------------------------------------------------------------
    def _reload_config(self) -> None:
        """Pick up agents added to tutti.toml while running (a broken edit keeps the old config)."""
        try:
            mtime = self.ws.config_path.stat().st_mtime
        except OSError:
            return
        if self._config_mtime is None:
            self._config_mtime = mtime
        elif mtime != self._config_mtime:
            self._config_mtime = mtime
            try:
                from tutti.workspace import load_workspace_at

                self.ws.config = load_workspace_at(self.ws.root).config
            except Exception as exc:  # noqa: BLE001 - a daemon: any broken edit keeps the old config
                print(f"watcher: keeping the previous config: {exc}", file=sys.stderr)

    def _attach(self, agent: str, session: str, pane_id: str) -> None:
        try:
            adapter = adapter_for(self.ws, agent)
        except Exception as exc:  # noqa: BLE001 - one broken agent must not stop watching the others
            print(f"watcher: cannot watch {agent}: {exc}", file=sys.stderr)
            return
        previous = agent_state.read_state(self.ws.state_dir, agent) or {}
        try:
            state = AgentState(previous.get("state") or "unknown")
        except ValueError:
            state = AgentState.UNKNOWN
        p = _Pane(agent, session, adapter, state, pane_id=pane_id)
        p.client = ControlClient(
            self.backend, session,
            on_output=lambda _pane, a=agent: self._queue.put(("output", a)),
            on_notify=lambda name, rest, a=agent: self._notify(a, name, rest),
            on_exit=lambda: self._queue.put(("rescan", "")),
        ).start()
        p.client.subscribe("dead", "#{pane_dead}")
        self.panes[agent] = p
        self._classify(p, settle=True)

    def _detach(self, p: _Pane, *, gone: bool) -> None:
        if p.client:
            p.client.stop()
        self.panes.pop(p.agent, None)
        current = agent_state.read_state(self.ws.state_dir, p.agent) or {}
        if gone and current.get("state") != AgentState.STOPPED.value and current.get("status") != "Stopped":
            # Killed outside `tt down` (which records the stop itself).
            self._transition(p, Detection(AgentState.STOPPED, 1.0, ["session:gone"], "session ended"))

    def _notify(self, agent: str, name: str, rest: str) -> None:
        if name == "sessions-changed":
            self._queue.put(("rescan", ""))
        elif name == "subscription-changed" and rest.startswith("dead ") and rest.rstrip().endswith(": 1"):
            self._queue.put(("output", agent))

    def _drain_queue(self) -> None:
        while True:
            try:
                kind, who = self._queue.get_nowait()
            except queue.Empty:
                return
            if kind == "output":
                self._on_output(who)
            elif kind == "rescan":
                self.rescan()

    def _on_output(self, agent: str) -> None:
        p = self.panes.get(agent)
        if p is None:
            return
        now = time.monotonic()
        p.last_output = now
        p.dirty = p.unsettled = True
        if now - p.last_classified >= self._throttle(p):
            self._classify(p, settle=False)  # leading edge: react within milliseconds

    def _next_deadline(self) -> float:
        deadline = time.monotonic() + 1.0
        if self.recovery is not None and self.recovery.next_due() is not None:
            deadline = min(deadline, self.recovery.next_due())
        for p in self.panes.values():
            if p.unsettled:
                deadline = min(deadline, p.last_output + self.settle_secs)
            if p.dirty:
                deadline = min(deadline, p.last_classified + self._throttle(p))
        return deadline

    def _due(self) -> None:
        now = time.monotonic()
        for p in list(self.panes.values()):
            if p.unsettled and now - p.last_output >= self.settle_secs:
                self._classify(p, settle=True)
            elif p.dirty and now - p.last_classified >= self._throttle(p):
                self._classify(p, settle=False)

    def _throttle(self, p: _Pane) -> float:
        """While output streams and the state stays the same (a spinner), classify less and less
        often (100 ms for the first few, then doubling up to 1 s): the change that matters — the spinner stopping for an
        answer, a dialog or an error — is caught by the settle pass when the output stops."""
        return min(MAX_THROTTLE_SECS, self.throttle_secs * (2 ** min(max(0, p.same - 3), 8)))

    def _classify(self, p: _Pane, *, settle: bool) -> None:
        p.last_classified = time.monotonic()
        p.dirty = False
        if settle:
            p.unsettled = False
        try:
            det, _screen = classify_pane(self.backend, p.session, p.adapter)
        except Exception as exc:  # noqa: BLE001 - a session killed mid-capture, a classifier bug: log, go on
            print(f"watcher: classify {p.agent}: {exc}", file=sys.stderr)
            return
        self.classifications += 1
        changed = det.state is not AgentState.UNKNOWN and det.state is not p.state
        if changed and not settle and det.state is AgentState.IDLE and p.state is AgentState.WORKING:
            changed = False  # a frame between two spinner states is not "done": the settle pass decides
        if changed:
            self._transition(p, det)
        elif self.recovery is not None and any(e.startswith("working_timeout:") for e in det.evidence):
            self._observe(p.agent, det)  # still "working", but past its working_timeout_secs
        p.same = 0 if (changed or settle) else p.same + 1
        if settle and self.write_logs:
            self._append_log(p, det.state)

    def _transition(self, p: _Pane, det: Detection) -> None:
        previous = p.state
        p.state = det.state
        p.evidence = list(det.evidence)
        self.ws.store.append_event(det.state.event_kind, agent=p.agent, data={
            "from": previous.value, "to": det.state.value, "evidence": det.evidence,
            "detail": det.detail, "source": "watcher", "session_name": p.session,
            # the same reading as the state file, so the dashboard's context bar moves live
            "context_used_pct": det.context_used_pct,
        })
        if previous.is_failure and not det.state.is_failure and det.state is not AgentState.STOPPED:
            # The original's recovery events (inventory §4.7), which integrations subscribe to.
            kind = "agent.auth_recovered" if previous is AgentState.AUTH_FAILED else "agent.provider_recovered"
            self.ws.store.append_event(kind, agent=p.agent, data={
                "from": previous.value, "to": det.state.value, "source": "watcher", "session_name": p.session})
        fields = {"state": det.state, "evidence": det.evidence, "detail": det.detail,
                  "context_used_pct": det.context_used_pct}
        if det.state is AgentState.STOPPED:
            fields["stopped_at"] = now_iso()
        agent_state.update_state(self.ws.state_dir, p.agent, **fields)
        self._observe(p.agent, det)
        if det.state is AgentState.IDLE:
            self.handoff.on_idle(p.agent, det)

    # -- recovery (tutti.supervisor.recovery) --------------------------------------------------------------
    def _start_recovery(self) -> None:
        if not self.recover or self.recovery is not None:
            return
        try:
            from tutti.supervisor.recovery import Recovery

            self.recovery = Recovery(self.ws, self.backend, forget=self._forget,
                                     on_done=lambda: self._queue.put(("rescan", "")))
        except Exception as exc:  # noqa: BLE001 - a broken global config must not stop state detection
            print(f"watcher: recovery disabled: {exc}", file=sys.stderr)

    def _observe(self, agent: str, det: Detection) -> None:
        if self.recovery is None:
            return
        try:
            self.recovery.observe(agent, det)
        except Exception as exc:  # noqa: BLE001 - a daemon: log, keep watching
            print(f"watcher: recovery of {agent}: {exc}", file=sys.stderr)

    def _recover_due(self) -> None:
        if self.recovery is None:
            return
        try:
            self.recovery.tick()  # restarts run in worker threads; each queues a rescan when done
        except Exception as exc:  # noqa: BLE001 - a daemon: log, keep watching
            print(f"watcher: recovery: {exc}", file=sys.stderr)

    def _forget(self, agent: str) -> None:
        """Stop watching an agent's pane without recording a stop (recovery is restarting it)."""
        p = self.panes.get(agent)
        if p is not None:
            if p.client:
                p.client.stop()
            self.panes.pop(agent, None)

    def _append_log(self, p: _Pane, state: AgentState) -> None:
        try:
            screen = self.backend.capture(p.session, scrollback=LOG_SCROLLBACK)
        except TuttiError:
            return  # the session ended between the notification and the capture
        new = pane_delta(p.log_screen, screen)
        p.log_screen = screen
        if not new.strip():
            return
        log = self.ws.tutti_dir / "logs" / f"{p.agent}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        try:
            if log.stat().st_size > LOG_MAX_BYTES:
                os.replace(log, log.with_suffix(".log.1"))  # keep one previous generation
        except FileNotFoundError:
            pass
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"--- {now_iso()} [{state.value}] ---\n{new}\n")


def watch_forever(ws: Workspace, stop: threading.Event, *, retry_secs: float = 5.0) -> None:
    """For a long-lived host (`tt serve`): watch `ws` until `stop`, in the calling thread.

    While a background watcher process holds the workspace lock this waits and retries, so
    exactly one watcher emits events at any time; it takes over when that one exits."""
    while not stop.is_set():
        if not Watcher(ws).run(stop, exit_when_empty=False):
            stop.wait(retry_secs)


def try_lock(ws: Workspace):
    """The workspace's exclusive watcher lock (an open file), or None if another holds it."""
    import fcntl

    ws.state_dir.mkdir(parents=True, exist_ok=True)
    lock = open(ws.state_dir / "watcher.lock", "w")  # noqa: SIM115 - held open for the watcher's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return None
    return lock
