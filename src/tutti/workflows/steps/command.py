"""`command` steps: run the configured shell string, streamed to a log, with retries.

Each try runs under a step supervisor (`workflows/stepsup.py`, via `workflows/supervised.py`)
that outlives `tt` and records the outcome in the store, so a resumed run adopts a try that
finished after the crash, waits for one still running, and never runs a second copy beside it.
`idempotent = true` skips the supervisor (one process less per try; a crash means a re-run).

The string comes from the user's own tutti.toml and runs as `/bin/sh -c` (not a login shell, so
dotfiles do not change behaviour); only output templates are substituted into it, each value
shell-quoted. stdout/stderr are drained while the child runs (a child printing 50 MB cannot
block) and the whole process group is killed on timeout or cancel.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti import proc
from tutti.errors import TuttiError
from tutti.fsutil import append_jsonl
from tutti.store.db import now_iso
from tutti.workflows import project_env, supervised
from tutti.workflows.outputs import render
from tutti.workflows.steps import StepContext, StepOutcome, import_optional

if TYPE_CHECKING:
    from tutti.workflows.plan import ResolvedStep

SELF_SLOTTED = True  # holds ctx.slot() only while its processes run (executor.py's bound)
LOG_CAP_BYTES = 32 << 20  # keep the first 32 MiB of a step's output on disk
TAIL_CHARS = 2000


class StepLog:
    """Per-step log file (both streams, interleaved). A short command's header, output and
    exit line are kept in memory and written in one call when it ends — by the engine's mirror
    writer when the command succeeded (`close(later=...)`: creating the file, a new inode, then
    overlaps the next step instead of delaying it), else at once (the failure message reads it).
    Once the command has run LIVE_AFTER seconds (`tick`) or its output passes BUFFER_BYTES, the
    file is opened and everything goes straight to it, unbuffered: readers follow a long command live."""

    LIVE_AFTER = 0.2
    BUFFER_BYTES = 64 << 10

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: Any = None  # opened on the first write past LIVE_AFTER / BUFFER_BYTES; closed in close()
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._opened_at = time.monotonic()
        self._lock = threading.Lock()
        self._written = 0
        self._capped = False

    def header(self, text: str) -> None:
        self.write(f"--- {now_iso()} {text} ---\n".encode())

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._written >= LOG_CAP_BYTES:
                if not self._capped:
                    self._put(b"\n[tutti: log capped at 32 MiB; further output not stored]\n")
                    self._capped = True
                return
            chunk = data[: LOG_CAP_BYTES - self._written]
            self._put(chunk)
            self._written += len(chunk)

    def _put(self, chunk: bytes) -> None:
        if self._fh is None:
            self._buffer.append(chunk)
            self._buffered += len(chunk)
            if self._buffered < self.BUFFER_BYTES and time.monotonic() - self._opened_at < self.LIVE_AFTER:
                return
            self._open()
        else:
            self._fh.write(chunk)

    def tick(self) -> None:
        """Called while the command runs: past LIVE_AFTER, what is buffered goes to the file
        even when the command has gone quiet."""
        if self._fh is None and time.monotonic() - self._opened_at >= self.LIVE_AFTER:
            with self._lock:
                if self._fh is None:
                    self._open()

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "ab", buffering=0)  # unbuffered: readers see output live
        self._fh.write(b"".join(self._buffer))
        self._buffer, self._buffered = [], 0

    def close(self, later: Callable[[Path, bytes], None] | None = None) -> None:
        with self._lock:
            if self._fh is None and later is not None:
                later(self.path, b"".join(self._buffer))
                self._buffer, self._buffered = [], 0
                return
            if self._fh is None:
                self._open()
            self._fh.close()


def plan_intent(ctx: StepContext, step: ResolvedStep, intent: dict[str, Any]) -> dict[str, Any]:
    """On resume, note whether the crashed attempt left this step in flight: its supervised try
    is then waited for or adopted, never run beside (`inflight_since`: the first attempt of an
    unbroken run of crashes, so a second crash while waiting still adopts the first try)."""
    if ctx.prior_intent is None or step.config.idempotent:
        return intent
    rows = ctx.workspace.store.query("SELECT status, attempt FROM steps WHERE run_id = ? AND step_index = ?",
                                     (ctx.run_id, step.index))
    if rows and rows[0]["status"] == "running":
        return {**intent, "inflight_since": ctx.prior_intent.get("inflight_since", rows[0]["attempt"])}
    return intent


@dataclass
class TryResult:
    returncode: int | None
    timed_out: bool = False
    cancelled: bool = False
    tail: str = ""
    try_no: int = 1
    attempt: int = 1  # the engine attempt whose try produced this result
    adopted: bool = False
    lost: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.cancelled


def execute(ctx: StepContext, step: ResolvedStep) -> StepOutcome:
    cfg = step.config
    assert step.cwd is not None
    if not step.cwd.is_dir():
        what = "agent worktree" if step.cwd_kind == "agent_worktree" and cfg.subdir is None else "command step subdir"
        raise TuttiError(f"{what} does not exist: {step.cwd}",
                         hint=f"start the agent first: tt up {step.agent}" if step.agent else "create the directory")
    command = render(cfg.run, ctx.outputs)
    _check_policy(ctx, step, command)
    before = _stat(step.output_json)
    log_path = ctx.log_dir / f"{step.key}.log"
    # the project's own interpreter/venv (or `uv run`), never tt's (workflows/project_env.py)
    project = project_env.detect(step.cwd, ctx.workspace.root)
    executed, env = project_env.command(command, project), _environment(ctx, step, project)
    started = time.monotonic()
    if cfg.idempotent:
        result = _run_direct(ctx, step, executed, env, log_path)
    else:
        result = _run_supervised(ctx, step, executed, env, log_path)
    done = result.try_no
    outcome = StepOutcome(status="success", exit_code=result.returncode, timed_out=result.timed_out,
                          duration=time.monotonic() - started, attempts=done, log_path=str(log_path),
                          output_tail=result.tail)
    if not cfg.idempotent:
        outcome.side_effects["supervised"] = {"attempt": result.attempt, "try": result.try_no,
                                              "adopted": result.adopted}
    suffix = f" (after {done} attempts)" if done > 1 else ""
    if (result.cancelled or ctx.cancel.is_set()) and not result.ok:
        outcome.status, outcome.message = "cancelled", f"cancelled: {command}"
    elif result.timed_out:
        outcome.status = "timed_out"
        outcome.message = f"command timed out after {step.timeout_secs}s: {command}{suffix}"
    elif result.lost:
        outcome.status = "failed"
        outcome.message = f"command's supervisor died; its outcome is unknown (its processes were killed): {command}"
    elif result.returncode != 0:
        outcome.status = "failed"
        outcome.message = (f"command failed (exit {result.returncode}): {command}{suffix}"
                           + project_env.failure_detail(command, result.returncode, result.tail, log_path,
                                                        env.get("PATH")))
    else:
        outcome.message = "ok" + suffix + (" (adopted: finished after the runner died)" if result.adopted else "")
        if step.output_json is not None:
            outcome.outputs[cfg.id] = _capture_output(ctx, step, None if result.adopted else before)
    return outcome


def _run_supervised(ctx: StepContext, step: ResolvedStep, command: str, env: dict[str, str],
                    log_path: Path) -> TryResult:
    """Each try runs under a step supervisor that outlives `tt`; on resume an in-flight try is
    waited for / adopted first, and only then are further tries (retries) started, one at a time."""
    store, attempts = ctx.workspace.store, ctx.settings.attempts
    result: TryResult | None = None
    since = ctx.intent.get("inflight_since")
    if since is not None:
        with ctx.slot():  # a try still running from before the crash is one of this host's processes
            prior = supervised.settle_inflight(store, ctx.run_id, step.index, since, ctx.cancel)
        if prior is not None:
            result = _from_row(prior, adopted=True)
            if result.ok or ctx.cancel.is_set() or result.try_no >= attempts:
                return result
    first = result.try_no + 1 if result is not None else 1
    for try_no in range(first, attempts + 1):
        if result is not None and ctx.sleep(ctx.settings.backoff_secs(try_no - 1)):
            break
        key = supervised.TryKey(ctx.run_id, step.index, ctx.attempt, try_no)
        with ctx.slot():
            child = supervised.start(store, key, argv=proc.shell_argv(command), cwd=step.cwd, env=env,
                                     timeout=step.timeout_secs, log_path=log_path,
                                     header=f"attempt {try_no}/{attempts}: {command}")
            result = _from_row(supervised.wait(store, key, ctx.cancel, child))
        if result.ok or ctx.cancel.is_set():
            break
    assert result is not None
    return result


def _from_row(r: dict[str, Any], *, adopted: bool = False) -> TryResult:
    return TryResult(returncode=r.get("exit_code"), timed_out=bool(r.get("timed_out")),
                     cancelled=bool(r.get("cancelled")), tail=r.get("output_tail") or "", try_no=r["try_no"],
                     attempt=r["attempt"], adopted=adopted, lost=r.get("state") == "lost")


def _run_direct(ctx: StepContext, step: ResolvedStep, command: str, env: dict[str, str],
                log_path: Path) -> TryResult:
    """`idempotent = true`: no supervisor (one process less per try); a crash leaves the command
    to be killed as an orphan on resume, and the step simply runs again."""
    attempts = ctx.settings.attempts
    log = StepLog(log_path)
    result: proc.ProcResult | None = None
    done = 0
    try:  # a successful try's log may be written off this thread; a failure's is read right after
        for attempt in range(1, attempts + 1):
            done = attempt
            log.header(f"attempt {attempt}/{attempts}: {command}")
            with ctx.slot():
                result = proc.run(proc.shell_argv(command), cwd=step.cwd, env=env, timeout=step.timeout_secs,
                                  on_stdout=log.write, on_stderr=log.write, cancel=ctx.cancel,
                                  capture_bytes=64 << 10, on_tick=log.tick)
            log.header(f"exit {result.returncode}{' (timed out)' if result.timed_out else ''}")
            if result.ok or ctx.cancel.is_set() or attempt == attempts:
                break
            if ctx.sleep(ctx.settings.backoff_secs(attempt)):
                break
    finally:
        log.close(ctx.append_later if result is not None and result.ok else None)
    assert result is not None
    return TryResult(returncode=result.returncode, timed_out=result.timed_out, tail=_tail(result), try_no=done,
                     attempt=ctx.attempt, cancelled=ctx.cancel.is_set() and not result.ok)


_RUN_ENVS: dict[tuple[Any, ...], dict[str, str]] = {}  # (run, agent, project env) -> environment
_RUN_ENVS_KEPT = 16
_RUN_ENVS_LOCK = threading.Lock()  # a wave's steps start in several threads at once


def _environment(ctx: StepContext, step: ResolvedStep, project: project_env.ProjectEnv) -> dict[str, str]:
    """The user's environment + [workspace.env] + [agent.env] + TUTTI_* facts about the run, in
    the project's environment (project_env.environment). Built once per run, agent and project
    environment — tt's own environment as the run found it — and copied for each step with its
    TUTTI_STEP: building it cost as much as a quarter of a `true` step."""
    key = (ctx.run_id, id(ctx.workspace), step.agent, project.kind, project.venv)
    with _RUN_ENVS_LOCK:
        base = _RUN_ENVS.get(key)
        if base is None:
            base = project_env.environment(_run_environment(ctx, step.agent), project)
            while len(_RUN_ENVS) >= _RUN_ENVS_KEPT:
                del _RUN_ENVS[next(iter(_RUN_ENVS))]
            _RUN_ENVS[key] = base
    env = dict(base)
    env["TUTTI_STEP"] = step.key
    return env


def _run_environment(ctx: StepContext, agent_name: str | None) -> dict[str, str]:
    env = dict(os.environ)
    config = ctx.workspace.config
    env.update(config.workspace.env.variables())
    agent = config.agent(agent_name) if agent_name else None
    if agent is not None:
        env.update({k: str(v) for k, v in agent.env.items()})
        env["TUTTI_AGENT"] = agent.name
    env.update(TUTTI_WORKSPACE=ctx.workspace.name, TUTTI_WORKSPACE_ROOT=str(ctx.workspace.root),
               TUTTI_RUN_ID=ctx.run_id, TUTTI_WORKFLOW=ctx.workflow)
    return env


def _stat(path: Path | None) -> tuple[int, int] | None:
    try:
        st = path.stat() if path is not None else None
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size) if st else None


def _capture_output(ctx: StepContext, step: ResolvedStep, before: tuple[int, int] | None) -> str:
    assert step.output_json is not None
    sid = step.config.id
    after = _stat(step.output_json)
    if after is None:
        raise TuttiError(f"failed reading output_json for step '{sid}': {step.output_json} was not written",
                         hint="make the command write that file, or remove output_json")
    if before is not None and after == before:
        # A file left by an earlier run would silently feed stale data to later steps.
        raise TuttiError(f"output_json for step '{sid}' is stale: {step.output_json} was not rewritten by the command",
                         hint="make the command (re)write that file")
    try:
        value = json.loads(step.output_json.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TuttiError(f"failed parsing output_json for step '{sid}': {step.output_json}: {exc}",
                         hint="the file must contain one JSON document") from None
    return ctx.outputs.store(sid, value)


def _tail(result: proc.ProcResult) -> str:
    parts = [p for p in (result.stdout[-TAIL_CHARS:], result.stderr[-TAIL_CHARS:]) if p.strip()]
    return "\n".join(parts)[-TAIL_CHARS:]


def _check_policy(ctx: StepContext, step: ResolvedStep, command: str) -> None:
    """Global `[permissions].allow` gates workflow commands when configured (inventory §6.3)."""
    rules = ctx.settings.allow_rules
    if rules is None:
        return
    permissions = import_optional("tutti.policy.permissions")
    if permissions is None:
        return  # the policy layer is not built yet; nothing to enforce against
    decision = permissions.check_command(command, rules)
    allowed = bool(decision.allowed)
    data: dict[str, Any] = {"workflow": ctx.workflow, "run_id": ctx.run_id, "step_index": step.index,
                            "command": command, "matched_rule": getattr(decision, "matched_rule", None),
                            "suggested_rule": getattr(decision, "suggested_rule", None)}
    record = {"timestamp": now_iso(), "workspace": ctx.workspace.name, "agent": step.agent, "runtime": None,
              "action": "workflow_command", "mode": "workflow", "policy": "configured", "enforcement": "hard",
              "decision": "allow" if allowed else "block", "reason": getattr(decision, "reason", None), "data": data,
              # flat copies, so readers of `tt permissions check` records find the same keys here
              "source": "workflow_command", "command": command, "allowed": allowed, "run_id": ctx.run_id,
              "step": step.key, "matched_rule": data["matched_rule"], "suggested_rule": data["suggested_rule"]}
    append_jsonl(ctx.workspace.state_dir / "policy-decisions.jsonl", record)
    ctx.emit("policy.decision", data={k: v for k, v in record.items() if k != "timestamp"}, step=step.key)
    if not allowed:
        rule = data["suggested_rule"] or " ".join(command.split()[:2])
        raise TuttiError(f"command blocked by permissions policy: '{command}' (hint: add allow rule '{rule}')",
                         hint=f"add '{rule}' to [permissions] allow in {ctx.settings.rules_source}, "
                              f"or allow every command of the workflow: tt permissions suggest {ctx.workflow} --apply")


def resume_note(step: ResolvedStep) -> str | None:
    """For `tt run --resume`'s preview (crash safety, #13)."""
    if step.config.idempotent:
        return "idempotent = true: its command is run again"
    return "its command ran under a step supervisor: resume waits for it or adopts its outcome, never runs it twice"
