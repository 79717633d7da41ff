"""Crash-safe persistence of a run: the store rows first, then the documented files.

Order of writes for every step (so a SIGKILL at any instant leaves a resumable run):
1. one SQLite transaction: steps row `running` + intent + attempt, and `workflow.step.started`;
2. the step runs;
3. one SQLite transaction: steps row outcome/status, and `workflow.step.<status>` —
   committed before any dependent step is scheduled;
4. `workflow-intents/{run}/{key}.json` written atomically at 1 and 3; `workflow-checkpoints/{run}.json`
   rewritten atomically at each wave boundary (see `RunRecorder.flush` for very large runs).
The steps of one wave share the transaction of 1; outcomes that complete together share one of 3.
Nothing per step rewrites state that grows with the run: each step result is encoded once.
The store is the source of truth for `--resume`; the files are for users' scripts.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti import proctree
from tutti.errors import NotFoundError
from tutti.fsutil import append_jsonl, write_text_atomic
from tutti.store.db import now_iso
from tutti.workflows.steps import StepOutcome

if TYPE_CHECKING:
    from tutti.workflows.plan import Plan, ResolvedStep
    from tutti.workspace import Workspace

SNAPSHOT_SPACING = 50  # checkpoint snapshots take at most ~1/50 of a run's time (see flush)
STEP_EVENT = {"success": "completed", "skipped": "completed", "warning": "warning"}


def write_json_file(path: Path, data: Any) -> None:
    """Atomic (temp + rename) but not fsynced: these files mirror the store, which is the
    durable record; an fsync per step would triple the engine's per-step cost. Compact JSON
    uses the C encoder (indent forces the slow pure-Python one)."""
    write_text_atomic(path, json.dumps(data, default=str, separators=(",", ":")) + "\n", durable=False)


# json.dumps with any option builds a new JSONEncoder per call; these few run several times a
# step, so they are built once (same output as the json.dumps calls they replace).
_COMPACT = json.JSONEncoder(default=str, separators=(",", ":")).encode
_ROW = json.JSONEncoder(default=str).encode


def _dumps(data: Any) -> str:
    return _COMPACT(data)


def checkpoint_path(ws: Workspace, run_id: str) -> Path:
    return ws.state_dir / "workflow-checkpoints" / f"{run_id}.json"


def intent_path(ws: Workspace, run_id: str, key: str) -> Path:
    return ws.state_dir / "workflow-intents" / run_id / f"{key}.json"


@dataclass
class PriorStep:
    """A step row of an earlier attempt of this run (for resume)."""

    status: str
    attempt: int
    intent: dict[str, Any]
    planned_at: str | None
    outcome: StepOutcome | None
    finished_at: str | None = None


@dataclass
class RunState:
    """A run as the store knows it: enough to resume it in a new process."""

    run_id: str
    workflow: str
    origin: str
    status: str
    strict: bool
    agent_scope: str | None
    started_at: str
    params: dict[str, Any]
    steps: dict[int, PriorStep] = field(default_factory=dict)

    def outputs(self) -> dict[str, str]:
        files: dict[str, str] = {}
        for prior in self.steps.values():
            if prior.outcome is not None and prior.outcome.ok:
                files.update(prior.outcome.outputs)
        return files


def load_run_state(ws: Workspace, run_id: str) -> RunState:
    rows = ws.store.query("SELECT * FROM runs WHERE run_id = ?", (run_id,))
    if not rows:
        raise NotFoundError(f"run '{run_id}' not found in {ws.store.path}", hint="list runs with `tt runs list`")
    row = rows[0]
    state = RunState(run_id=run_id, workflow=row["workflow"] or "", origin=row["origin"] or "run",
                     status=row["status"], strict=bool(row["strict"]), agent_scope=row["agent_scope"],
                     started_at=row["started_at"], params=json.loads(row["params"] or "{}"))
    for s in ws.store.query("SELECT * FROM steps WHERE run_id = ? ORDER BY step_index", (run_id,)):
        outcome = StepOutcome.from_dict(json.loads(s["outcome"])) if s["outcome"] else None
        state.steps[s["step_index"]] = PriorStep(status=s["status"], attempt=s["attempt"],
                                                 intent=json.loads(s["intent"] or "{}"),
                                                 planned_at=s["planned_at"], outcome=outcome,
                                                 finished_at=s["finished_at"])
    return state


class MirrorWriter:
    """Writes the per-step intent mirror files off the engine's thread. A step's "started"
    record is due START_DELAY after it is queued and is dropped when the step's outcome record
    supersedes it first — so a fast step costs one file write, not two, and none on the path
    between a step's commit and its dependents. `close()` writes whatever is still queued.
    Files lag the store by at most a few milliseconds; after a crash, resume rewrites the
    mirrors of the steps it carries over (the store is the record)."""

    START_DELAY = 0.05
    DONE_DELAY = 0.01  # outcome records are batched: one wake-up of the writer per ~10 ms

    def __init__(self) -> None:
        self._pending: dict[Path, tuple[float, Any]] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._wake_at = 0.0  # when the writer's current wait ends (0: it is not waiting)

    def put(self, path: Path, data: Any, *, delay: float = 0.0) -> None:
        """Queue `data` (a fresh dict the caller no longer changes) for `path`; it is encoded
        by the writer — a superseded record never is."""
        with self._cond:
            if self._closed:
                _write_quietly(path, data)
                return
            due = time.monotonic() + delay
            self._pending[path] = (due, data)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="tutti-mirrors", daemon=True)
                self._thread.start()
            if due < self._wake_at:  # wake the writer only when this is due before its alarm
                self._cond.notify()

    def append(self, path: Path, data: bytes, *, delay: float = DONE_DELAY) -> None:
        """Queue `data` to be appended to `path` (a step's log, when its command ended fast)."""
        with self._cond:  # re-entrant: put() takes it again, so nothing is written in between
            pending = self._pending.get(path)
            if pending is not None and isinstance(pending[1], bytes):
                data = pending[1] + data
            self.put(path, data, delay=delay)

    def _loop(self) -> None:
        while True:
            with self._cond:
                due = self._take_due()
                while not due and not self._closed:
                    self._wake_at = min((t for t, _ in self._pending.values()), default=float("inf"))
                    wait = self._wake_at - time.monotonic()
                    self._cond.wait(None if wait == float("inf") else max(0.0, wait))
                    self._wake_at = 0.0  # awake: nobody needs to notify
                    due = self._take_due()
                if not due and self._closed:
                    return
            for path, data in due:
                _write_quietly(path, data)

    def _take_due(self) -> list[tuple[Path, Any]]:
        now = time.monotonic()
        due = [(p, data) for p, (t, data) in self._pending.items() if t <= now or self._closed]
        for p, _ in due:
            del self._pending[p]
        return due

    def close(self) -> None:
        """Write everything still queued (also not-yet-due records), then stop the thread."""
        with self._cond:
            self._closed = True
            thread = self._thread
            self._cond.notify()
        if thread is not None:
            thread.join()


_made_dirs: set[str] = set()  # intent folders already created by this process


def _write_quietly(path: Path, data: Any) -> None:
    """Temp file + rename, like `fsutil.write_text_atomic` but lean (one mirror file per step:
    no mkstemp name generation, no per-write mkdir/chmod/stat). The temp name is unique per
    writing thread; a new file gets the mode a plain open() gives (0666 less the umask)."""
    try:
        folder = os.path.dirname(path)
        if folder not in _made_dirs:
            os.makedirs(folder, exist_ok=True)
            _made_dirs.add(folder)
        if isinstance(data, bytes):
            _append(path, data)
            return
        tmp = f"{folder}/.{os.path.basename(path)}.{threading.get_ident()}.tmp"
        _write_all(tmp, os.O_TRUNC, (_dumps(data) + "\n").encode())
        os.replace(tmp, path)
    except (OSError, ValueError, TypeError, RuntimeError):  # e.g. a dict changed while encoding
        _made_dirs.discard(os.path.dirname(path))  # a mirror that cannot be written must not stop the run; the store has it


def _write_all(path: Path | str, flag: int, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | flag, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _append(path: Path, data: bytes) -> None:
    _write_all(path, os.O_APPEND, data)


class RunRecorder:
    """Writes one run's rows, events and files. Thread-safe (parallel waves share it)."""

    def __init__(self, ws: Workspace, plan: Plan, run_id: str, origin: str, started_at: str) -> None:
        self.ws, self.plan, self.run_id, self.origin = ws, plan, run_id, origin
        self.started_at = started_at
        self.results: dict[int, dict[str, Any]] = {}
        self.outputs: dict[str, str] = {}
        self._encoded: dict[int, str] = {}  # step index -> its result, JSON-encoded once
        self._lock = threading.Lock()
        self._dirty = False
        self.mirrors = MirrorWriter()
        self._intent_dir = intent_path(ws, run_id, "x").parent
        self._last_snapshot = 0.0
        self._snapshot_cost = 0.0

    # -- run ------------------------------------------------------------------------------
    def begin(self, params: dict[str, Any], *, resumed: bool) -> None:
        store = self.ws.store
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO runs (run_id, kind, workflow, origin, status, strict, agent_scope, started_at, params) "
                "VALUES (?, 'workflow', ?, ?, 'running', ?, ?, ?, ?) ON CONFLICT(run_id) DO UPDATE SET "
                "status = 'running', strict = excluded.strict, finished_at = NULL, params = excluded.params",
                (self.run_id, self.plan.workflow, self.origin, int(self.plan.strict), self.plan.agent_scope,
                 self.started_at, json.dumps(params)),
            )
            store.append_event("workflow.started", run_id=self.run_id, agent=self.plan.agent_scope, conn=conn,
                               data={"workflow_name": self.plan.workflow, "origin": self.origin,
                                     "strict": self.plan.strict, "resumed": resumed,
                                     "total_steps": len(self.plan.steps),
                                     "parent_run_id": params.get("parent_run_id")})

    def finish(self, status: str, result: dict[str, Any], event_data: dict[str, Any]) -> None:
        store = self.ws.store
        kind = {"succeeded": "workflow.completed", "cancelled": "workflow.cancelled"}.get(status, "workflow.failed")
        with store.transaction() as conn:
            conn.execute("UPDATE runs SET status = ?, finished_at = ?, result = ? WHERE run_id = ?",
                         (status, now_iso(), json.dumps(result, default=str), self.run_id))
            store.append_event(kind, run_id=self.run_id, agent=self.plan.agent_scope, data=event_data, conn=conn)

    # -- steps ----------------------------------------------------------------------------
    def commit(self, started: list[tuple[ResolvedStep, dict[str, Any], int, str | None]],
               finished: list[tuple[ResolvedStep, dict[str, Any], int, str, StepOutcome]]) -> dict[int, str]:
        """One transaction: the outcomes in `finished` (rows + `workflow.step.<status>`) and the
        intents in `started` (rows `running` + `workflow.step.started`), in that order; then the
        mirrors. Returns each started step's planned_at."""
        store = self.ws.store
        now = now_iso()
        planned = {step.index: planned_at or now for step, _, _, planned_at in started}
        with store.transaction() as conn:
            for step, _, _, _, outcome in finished:
                self._finish_row(conn, step, outcome, now)
            for step, intent, attempt, _ in started:
                self._start_row(conn, step, intent, attempt, planned[step.index], now)
        for step, intent, attempt, planned_at, outcome in finished:
            self._write_intent(step, intent, attempt, planned_at, outcome)
        self.record([(step, outcome) for step, _, _, _, outcome in finished])
        for step, intent, attempt, _ in started:
            self._write_intent(step, intent, attempt, planned[step.index], None)
        return planned

    def _start_row(self, conn: Any, step: ResolvedStep, intent: dict[str, Any], attempt: int, planned: str,
                   now: str) -> None:
        conn.execute(
            "INSERT INTO steps (run_id, step_index, step_key, step_type, status, attempt, intent, outcome, "
            "planned_at, started_at) VALUES (?, ?, ?, ?, 'running', ?, ?, NULL, ?, ?) "
            "ON CONFLICT(run_id, step_index) DO UPDATE SET status = 'running', attempt = excluded.attempt, "
            "intent = excluded.intent, outcome = NULL, started_at = excluded.started_at, finished_at = NULL",
            (self.run_id, step.index, step.key, step.type, attempt, _ROW(intent), planned, now),
        )
        self.ws.store.append_event("workflow.step.started", run_id=self.run_id, agent=step.agent, step=step.key,
                                   conn=conn, data={"workflow_name": self.plan.workflow, "step_index": step.index,
                                                    "step_id": step.id, "step_type": step.type,
                                                    "total_steps": len(self.plan.steps), "attempt": attempt})

    def _finish_row(self, conn: Any, step: ResolvedStep, outcome: StepOutcome, now: str) -> None:
        data = outcome.to_dict()
        kind = "workflow.step." + STEP_EVENT.get(outcome.status, "failed")
        conn.execute("UPDATE steps SET status = ?, outcome = ?, finished_at = ? WHERE run_id = ? AND step_index = ?",
                     (outcome.status, _ROW(data), now, self.run_id, step.index))
        self.ws.store.append_event(kind, run_id=self.run_id, agent=step.agent, step=step.key, conn=conn,
                                   data={"workflow_name": self.plan.workflow, "step_index": step.index,
                                         "step_id": step.id, "step_type": step.type, "status": outcome.status,
                                         "duration_ms": data["duration_ms"], "timed_out": outcome.timed_out,
                                         "message": outcome.message, "total_steps": len(self.plan.steps)})

    def carry_over(self, done: list[tuple[ResolvedStep, PriorStep]]) -> None:
        """A resumed run's already-done steps: into the checkpoint, and their intent mirrors
        rewritten from the store (a crash may have cut off the last few mirror writes)."""
        for step, prior in done:
            assert prior.outcome is not None
            self._write_intent(step, prior.intent, prior.attempt, prior.planned_at or self.started_at, prior.outcome,
                               completed_at=prior.finished_at)
        self.record([(step, prior.outcome) for step, prior in done if prior.outcome is not None])
        self.flush(force=True)

    def record(self, done: list[tuple[ResolvedStep, StepOutcome]]) -> None:
        """Keep step results for the checkpoint (also resumed-done steps). Each result is
        encoded once, here; `flush` only joins the encoded pieces."""
        with self._lock:
            for step, outcome in done:
                result = step_result(step, outcome)
                self.results[step.index] = result
                self._encoded[step.index] = _COMPACT(result)
                if outcome.ok:
                    self.outputs.update(outcome.outputs)
                self._dirty = True

    def flush(self, *, force: bool = False) -> None:
        """Rewrite the checkpoint mirror at a wave boundary. A snapshot costs time proportional
        to the run's size, so for runs of thousands of instant steps it is skipped while less
        than SNAPSHOT_SPACING × (the last snapshot's cost) has passed: the mirror then trails by
        at most a few milliseconds of steps, per-step cost stays flat, and the final snapshot
        (`write_final_files`) is always written. The store is what resume reads."""
        with self._lock:
            if not self._dirty:
                return
            now = time.monotonic()
            if not force and now - self._last_snapshot < SNAPSHOT_SPACING * self._snapshot_cost:
                return
            self._write_checkpoint(finished_at=None, success=None)
            self._last_snapshot = time.monotonic()
            self._snapshot_cost = self._last_snapshot - now

    # -- files ----------------------------------------------------------------------------
    def _write_intent(self, step: ResolvedStep, intent: dict[str, Any], attempt: int, planned_at: str,
                      outcome: StepOutcome | None, *, completed_at: str | None = None) -> None:
        record: dict[str, Any] = {"run_id": self.run_id, "workflow_name": self.plan.workflow,
                                  "step_index": step.index, "step_id": step.key, "step_type": step.type,
                                  "planned_at": planned_at, "intent": dict(intent), "attempt": attempt}
        if outcome is not None:
            record["outcome"] = {"completed_at": completed_at or now_iso(), "status": outcome.status, "success": outcome.ok,
                                 "exit_code": outcome.exit_code, "timed_out": outcome.timed_out,
                                 "message": outcome.message, "side_effects": dict(outcome.side_effects)}
        self.mirrors.put(self._intent_dir / f"{step.key}.json", record,
                         delay=MirrorWriter.START_DELAY if outcome is None else MirrorWriter.DONE_DELAY)

    def _write_checkpoint(self, *, finished_at: str | None, success: bool | None) -> None:
        order = sorted(self._encoded)
        results = self.results
        head = {"run_id": self.run_id, "workflow_name": self.plan.workflow, "strict": self.plan.strict,
                "origin": self.origin, "agent_scope": self.plan.agent_scope, "started_at": self.started_at,
                "finished_at": finished_at, "success": success,
                "failed_steps": [i for i in order if not results[i]["success"]]}
        tail = {"output_files": dict(self.outputs),
                "completed_steps": [i for i in order if results[i]["success"]]}
        # Same document (and key order) as json.dumps of the whole dict, built from the
        # step results encoded once each in `record`.
        text = (_dumps(head)[:-1] + ',"step_results":[' + ",".join(self._encoded[i] for i in order) + "],"
                + _dumps(tail)[1:] + "\n")
        write_text_atomic(checkpoint_path(self.ws, self.run_id), text, durable=False)
        self._dirty = False

    def write_final_files(self, *, success: bool, failed_steps: list[int], warning_count: int) -> None:
        self.mirrors.close()
        with self._lock:
            self._write_checkpoint(finished_at=now_iso(), success=success)
        record: dict[str, Any] = {"workflow_name": self.plan.workflow, "timestamp": now_iso(), "trigger": self.origin,
                                  "success": success, "strict": self.plan.strict, "failed_steps": failed_steps,
                                  "warning_count": warning_count, "agent_scope": self.plan.agent_scope,
                                  "run_id": self.run_id}
        record.update(template_tag(self.ws.config_path))
        append_jsonl(self.ws.state_dir / "automation-runs.jsonl", record)


def step_result(step: ResolvedStep, outcome: StepOutcome) -> dict[str, Any]:
    d = outcome.to_dict()
    d.pop("output_tail", None)
    return {"step_index": step.index, "step_id": step.id, "step_key": step.key, "step_type": step.type,
            "agent": step.agent, "fail_mode": step.fail_mode, **d}


def template_tag(config_path: Path) -> dict[str, str]:
    """`# template: {id} {version}` on line 1 of tutti.toml, if present."""
    try:
        with open(config_path, encoding="utf-8") as fh:
            first = fh.readline().strip()
    except OSError:
        return {}
    if not first.startswith("# template:"):
        return {}
    parts = first.split(":", 1)[1].split()
    if len(parts) < 2:
        return {}  # a partial tag (`# template: python`) records nothing, as in the original
    return {"template_id": parts[0], "template_version": parts[1]}


def pid_alive(pid: int | None, started: int | None = None) -> bool:
    """The process that recorded a run still exists (not a zombie, not a reused pid)."""
    if not pid or not proctree.running(pid):
        return False
    return started is None or proctree.start_ticks(pid) in (started, None)
