"""Structured state signals — what the runtimes write about themselves — preferred over the
screen wherever a runtime offers one:

- Claude Code: the live state file `<config dir>/sessions/<pid>.json` (`claude_state`), found
  through the tmux pane's process tree and checked against the process start time, and the
  session transcript it names (`claude_transcript`): the API error a turn ended with;
- Codex: the rollout log (`codex_rollout`): `task_started` / `task_complete` turn edges and
  the error a failed turn ended with;
- Gemini CLI: its local telemetry file (`gemini_telemetry`): failed API calls with their HTTP
  status while the screen only says `Thinking...`.

`read_structured` gives one Detection for an agent (or None); `merge` combines it with the
screen classification; `StructuredAdapter` wraps a runtime adapter so that every
`classify(screen)` call includes the structured signal. `delivery` confirms a prompt started
a turn; `working_timeout` flags an agent working for too long.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti.errors import TuttiError
from tutti.runtimes.base import AgentState, Detection

if TYPE_CHECKING:
    from tutti.workspace import Workspace


ROLLOUT_REFIND_SECS = 5.0


@dataclass
class SignalSources:
    """Where one agent's runtime writes its structured signals."""

    runtime: str | None
    workdir: Path
    claude_config_dir: Path | None = None
    codex_home: Path | None = None
    gemini_telemetry: Path | None = None
    fake_state_dir: Path | None = None  # the fake agent's Claude-style state files (opt-in)


def sources_for(ws: Workspace, agent: str, env: dict[str, str] | None = None) -> SignalSources:
    """Mirrors `runtimes.prepare`: the agent's isolated home, or the user's with share_home."""
    from tutti.runtimes.fake import state_dir as fake_state_dir
    from tutti.runtimes.prepare import agent_home, gemini_telemetry_file

    cfg = ws.config.agent(agent)
    runtime = ws.config.resolved_runtime(cfg) if cfg else None
    workdir = ws.worktree_path(agent) if (cfg is None or ws.config.uses_worktree(cfg)) else ws.root
    env = dict(os.environ if env is None else env)
    home = agent_home(ws, agent)
    user_home = Path(env.get("HOME") or Path.home())
    shared = bool(cfg and cfg.share_home)
    return SignalSources(
        runtime=runtime,
        workdir=workdir,
        claude_config_dir=(Path(env["CLAUDE_CONFIG_DIR"]) if env.get("CLAUDE_CONFIG_DIR") else user_home / ".claude")
        if shared else home / ".claude",
        codex_home=(Path(env.get("CODEX_HOME") or user_home / ".codex")) if shared else home / ".codex",
        gemini_telemetry=gemini_telemetry_file(home),
        fake_state_dir=fake_state_dir(ws.state_dir, agent) if runtime == "fake" else None,
    )


def read_structured(sources: SignalSources, *, pane_pid: int | None,
                    memo: dict[str, Any] | None = None) -> Detection | None:
    """The structured signal of the agent's runtime right now, or None if it has none.
    `memo` (kept by the caller between calls) saves re-finding the same process/file."""
    memo = {} if memo is None else memo
    if sources.runtime == "claude-code" and pane_pid is not None and sources.claude_config_dir:
        from tutti.runtimes.signals.claude_state import find_session_state, sessions_dir

        st = find_session_state(sessions_dir(sources.claude_config_dir), pane_pid, hint=memo.get("claude_pid"))
        memo["claude_pid"] = st.pid if st else None
        if st is None:
            return None
        if st.status != "busy":  # a turn that ended in an API error says so in the transcript
            from tutti.runtimes.signals.claude_transcript import failure_detection

            failed = failure_detection(sources.claude_config_dir, st.session_id)
            if failed is not None:
                return failed
        return st.to_detection()
    if sources.runtime == "fake" and sources.fake_state_dir is not None and pane_pid is not None:
        from tutti.runtimes.signals.claude_state import find_session_state

        st = find_session_state(sources.fake_state_dir, pane_pid, hint=memo.get("fake_pid"))
        memo["fake_pid"] = st.pid if st else None
        return st.to_detection() if st else None
    if sources.runtime == "codex" and sources.codex_home:
        import time

        from tutti.runtimes.signals.codex_rollout import find_rollout, read_rollout

        # Listing the sessions tree is the expensive part: re-find at most every few seconds
        # (a relaunched Codex starts a new rollout; the old one simply stops growing).
        path, found_at = memo.get("rollout") or (None, 0.0)
        if path is None or time.monotonic() - found_at > ROLLOUT_REFIND_SECS:
            path = find_rollout(sources.codex_home, sources.workdir)
            memo["rollout"] = (path, time.monotonic())
        return read_rollout(path).to_detection() if path else None
    if sources.runtime == "gemini-cli" and sources.gemini_telemetry:
        from tutti.runtimes.signals.gemini_telemetry import failure_detection

        return failure_detection(sources.gemini_telemetry)
    return None


def merge(screen: Detection, structured: Detection | None) -> Detection:
    """One state from the screen and the structured signal.

    1. `waiting` from the state file wins (a dialog is open: nothing else matters);
    2. a failure the runtime logged itself (rollout error, telemetry api_error) wins;
    3. a failure or a dialog on the screen wins over structured working/idle — error lines and
       some dialogs are only on the screen;
    4. otherwise structured working/idle wins over the screen's guess.
    """
    if structured is None:
        return screen
    if structured.state is AgentState.WAITING or structured.state.is_failure:
        return _with(structured, screen)
    if screen.state.is_failure or screen.state in (AgentState.WAITING, AgentState.STOPPED):
        return _with(screen, structured)
    return _with(structured, screen)


def _with(winner: Detection, other: Detection) -> Detection:
    evidence = [*winner.evidence, *(e for e in other.evidence if e not in winner.evidence)]
    return Detection(
        state=winner.state, confidence=winner.confidence, evidence=evidence,
        detail=winner.detail if winner.detail is not None else other.detail,
        context_used_pct=winner.context_used_pct if winner.context_used_pct is not None else other.context_used_pct,
        source=winner.source,
    )


class StructuredAdapter:
    """A runtime adapter whose `classify(screen)` also reads the structured signal.

    The pane pid is looked up lazily and cached (re-read when that process is gone, e.g. after a
    respawn), so a classification costs no extra tmux call. Everything else is delegated to the
    wrapped adapter, so it stands in wherever an adapter is expected.
    """

    def __init__(self, inner: Any, sources: SignalSources, pane_pid: Callable[[], int | None],
                 stuck_check: Callable[[Detection], Any] | None = None) -> None:
        self._inner = inner
        self.sources = sources
        self._pane_pid_fn = pane_pid
        self._pid: int | None = None
        self._stuck_check = stuck_check
        self._memo: dict[str, Any] = {}

    def know_pane_pid(self, pid: int | None) -> None:
        """The pane pid as the caller already read it (`tt status` lists every pane at once)."""
        self._pid = pid

    def pane_pid(self) -> int | None:
        from tutti import proctree

        if self._pid is None or not proctree.alive(self._pid):
            try:
                self._pid = self._pane_pid_fn()
            except (TuttiError, OSError):  # a backend error must never break screen classification
                self._pid = None
        return self._pid

    def structured(self) -> Detection | None:
        try:
            return read_structured(self.sources, pane_pid=self.pane_pid(), memo=self._memo)
        except OSError:
            return None  # a log rotated away mid-read: the screen alone this time

    def classify(self, screen: str) -> Detection:
        det = merge(self._inner.classify(screen), self.structured())
        if self._stuck_check is not None and det.state is AgentState.WORKING:
            verdict = self._stuck_check(det)
            if verdict is not None:
                # Still "working" as far as the runtime says; the evidence says how long.
                det.evidence.append(f"working_timeout:{int(verdict.working_secs)}s>{int(verdict.timeout_secs)}s")
                det.detail = verdict.message
        return det

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def with_structured_signals(ws: Workspace, agent: str, adapter: Any, session: str | None = None,
                            backend: Any = None) -> StructuredAdapter:
    """Wrap `adapter` for `agent`. The pane pid is read from tmux (`backend.pane_pid(session)`)."""
    if isinstance(adapter, StructuredAdapter):
        return adapter
    session = session or ws.session_name(agent)

    def pane_pid() -> int | None:
        nonlocal backend
        if backend is None:
            from tutti.sessions.backend import default_backend

            backend = default_backend()
        return backend.pane_pid(session)

    cfg = ws.config.agent(agent)
    stuck_check = None
    if cfg is not None and cfg.working_timeout_secs:
        from tutti.runtimes.signals.working_timeout import check_working_timeout

        def stuck_check(det: Detection) -> Any:
            from tutti.runtimes.signals.working_timeout import flag_stuck

            verdict = check_working_timeout(ws, agent, det.state)
            if verdict is not None:
                # Whichever process notices first (watcher, status, send --wait) records it;
                # flag_stuck writes one `agent.stuck` event per working period.
                flag_stuck(ws, verdict)
            return verdict

    return StructuredAdapter(adapter, sources_for(ws, agent), pane_pid, stuck_check)
