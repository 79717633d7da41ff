"""Cron scheduling of workflows (`[[workflow]] schedule = "..."`, inventory §6.7).

Semantics (fixing the original, which evaluated cron in UTC despite documenting local time):

* 5-field POSIX cron: minute hour day-of-month month day-of-week; day-of-week 0 and 7 are
  both Sunday; when day-of-month AND day-of-week are both restricted a day matches if EITHER
  matches (the classic cron OR rule).
* Fields are matched against the wall clock of the workflow's `timezone` (IANA name) or, if
  unset, the machine's local zone.
* DST spring-forward: a wall time that does not exist that day (02:30 in America/New_York
  on the spring-forward Sunday) fires ONCE, shifted forward by the gap (03:30 EDT) — the
  behaviour of Python's `fold=0` for non-existent times.
* DST fall-back: a wall time that occurs twice (01:30) fires ONCE, on its first occurrence.
* Missed slots collapse: however many slots passed since the last run, one run is started.
* A workflow whose previous scheduled run is still in flight is not started again.
* Last-run times persist atomically in `.tutti/state/scheduler-last-runs.json`.

`Scheduler.tick(now)` takes the clock as an argument so tests freeze it; the loop around it
(`tt schedule run`, `tt serve`) is `tutti.supervisor.scheduler.run_forever`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti.errors import ConfigError
from tutti.fsutil import write_json_atomic

if TYPE_CHECKING:
    from tutti.workspace import Workspace

STATE_FILENAME = "scheduler-last-runs.json"
_MAX_CANDIDATES = 5000  # bounds the search for a next fire (a minute-by-minute day is 1440)


def zone_for(name: str | None) -> tzinfo:
    """The IANA zone `name`, or the machine's local zone when None."""
    if name:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"unknown timezone '{name}'", hint="use an IANA zone name such as 'Europe/Berlin' or 'UTC'"
            ) from None
    local = datetime.now().astimezone().tzinfo
    # A fixed-offset local zone cannot know about DST; prefer the named zone: $TZ (what libc
    # uses when set), else the /etc/localtime link.
    try:
        from zoneinfo import ZoneInfo

        tz_env = os.environ.get("TZ", "").lstrip(":")
        if tz_env and "/" in tz_env or tz_env == "UTC":
            return ZoneInfo(tz_env)
        link = Path("/etc/localtime").resolve()
        if "zoneinfo/" in str(link):
            return ZoneInfo(str(link).split("zoneinfo/", 1)[1])
    except Exception:  # noqa: BLE001 - fall back to the fixed offset below
        pass
    return local or UTC


def validate_expression(expr: str, *, where: str = "schedule") -> None:
    from croniter import croniter

    if len(expr.split()) != 5 or not croniter.is_valid(expr):
        raise ConfigError(
            f"{where}: invalid cron expression '{expr}'",
            hint="use 5 fields: minute hour day-of-month month day-of-week, e.g. '0 9 * * 1-5'",
        )


def _to_instant(wall: datetime, tz: tzinfo) -> datetime:
    """Wall-clock time → aware UTC instant. fold=0: first occurrence of an ambiguous time,
    and a non-existent (skipped) time is shifted forward by the DST gap."""
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def next_fire(expr: str, after: datetime, tz: tzinfo) -> datetime:
    """The first fire instant strictly after `after` (aware), as an aware UTC datetime."""
    from croniter import croniter

    after = after.astimezone(UTC)
    wall_after = after.astimezone(tz).replace(tzinfo=None)
    # Start a few hours early: around DST transitions wall time and instants are not monotonic.
    it = croniter(expr, wall_after - timedelta(hours=3), day_or=True)
    best: datetime | None = None
    best_wall: datetime | None = None
    for _ in range(_MAX_CANDIDATES):
        wall = it.get_next(datetime)
        if best_wall is not None and wall > best_wall + timedelta(hours=3):
            break
        instant = _to_instant(wall, tz)
        if instant <= after:
            continue
        # The same instant can come from two wall times (a shifted gap time); keep the earliest.
        if best is None or instant < best:
            best, best_wall = instant, wall
    if best is None:
        # Sparse schedules (e.g. Feb 29): jump straight to the next wall match past `after`.
        it = croniter(expr, wall_after, day_or=True)
        for _ in range(_MAX_CANDIDATES):
            instant = _to_instant(it.get_next(datetime), tz)
            if instant > after:
                return instant
        raise ConfigError(f"cron expression '{expr}' never fires", hint="check day-of-month/month fields")
    return best


@dataclass
class ScheduleEntry:
    workflow: str
    expression: str
    timezone: str
    next_fire: datetime
    last_run: datetime | None
    in_flight: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "schedule": self.expression,
            "timezone": self.timezone,
            "next_fire": self.next_fire.isoformat(),
            "next_fire_local": self.next_fire.astimezone(zone_for(None if self.timezone == "local" else self.timezone)).isoformat(),
            "last_run": self.last_run.isoformat() if self.last_run else None,
            "in_flight": self.in_flight,
        }


@dataclass
class TickDecision:
    workflow: str
    action: str  # "started" | "skipped_in_flight" | "not_due"
    slot: datetime | None = None
    missed_slots: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"workflow": self.workflow, "action": self.action,
                "slot": self.slot.isoformat() if self.slot else None, "missed_slots": self.missed_slots}


Launcher = Callable[[str], Any]


def subprocess_launcher(root: Path) -> Launcher:
    """Run `tt run WORKFLOW` as a child process: a crashing workflow cannot take the loop down."""

    def launch(workflow: str) -> int | None:
        import sys

        from tutti import proc

        return proc.run([sys.executable, "-m", "tutti", "run", workflow], cwd=root).returncode

    return launch


@dataclass
class Scheduler:
    """Decides which scheduled workflows are due and starts each in its own thread."""

    ws: Workspace
    launcher: Launcher | None = None
    state_path: Path | None = None
    run_in_thread: bool = True
    _threads: dict[str, threading.Thread] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.state_path is None:
            self.state_path = self.ws.state_dir / STATE_FILENAME
        if self.launcher is None:
            self.launcher = subprocess_launcher(self.ws.root)
        for wf in self.scheduled_workflows():
            validate_expression(wf.schedule, where=f"workflow '{wf.name}' → schedule")
            zone_for(wf.timezone)

    # -- state ---------------------------------------------------------------------------
    def scheduled_workflows(self) -> list:
        return [w for w in self.ws.config.workflows if w.schedule]

    def load_state(self) -> dict[str, str]:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError):
            # A corrupt state file must not stop scheduling; treat it as "never ran".
            return {}
        return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}

    def _save_last(self, workflow: str, when: datetime) -> None:
        with self._lock:
            state = self.load_state()
            state[workflow] = when.astimezone(UTC).isoformat()
            write_json_atomic(self.state_path, state)

    def in_flight(self, workflow: str) -> bool:
        """Started by this scheduler and still running, or a live run of it in the store (a
        manual `tt run`, another scheduler): either way, do not start it again."""
        t = self._threads.get(workflow)
        if t is not None and t.is_alive():
            return True
        return self._running_elsewhere(workflow)

    def _running_elsewhere(self, workflow: str) -> bool:
        from tutti.workflows.checkpoints import pid_alive

        try:
            rows = self.ws.store.query("SELECT params FROM runs WHERE workflow = ? AND status = 'running'", (workflow,))
        except Exception:  # noqa: BLE001 - no store yet means nothing is running
            return False
        for row in rows:
            try:
                pid = json.loads(row["params"] or "{}").get("pid")
            except ValueError:
                continue
            if pid_alive(pid):  # a crashed run's row stays 'running'; its pid is gone
                return True
        return False

    # -- decisions -----------------------------------------------------------------------
    def entries(self, now: datetime) -> list[ScheduleEntry]:
        state = self.load_state()
        out = []
        for wf in self.scheduled_workflows():
            last = datetime.fromisoformat(state[wf.name]) if wf.name in state else None
            tz = zone_for(wf.timezone)
            out.append(ScheduleEntry(wf.name, wf.schedule, wf.timezone or "local",
                                     next_fire(wf.schedule, now, tz), last, self.in_flight(wf.name)))
        return out

    def tick(self, now: datetime) -> list[TickDecision]:
        """Start every workflow with a slot in (last, now]; record `now` as its last run."""
        if now.tzinfo is None:
            raise ValueError("Scheduler.tick needs an aware datetime")
        state = self.load_state()
        decisions = []
        for wf in self.scheduled_workflows():
            tz = zone_for(wf.timezone)
            # Never seen: like the original, look back one minute so a slot at `now` fires.
            last = datetime.fromisoformat(state[wf.name]) if wf.name in state else now - timedelta(minutes=1)
            slot = next_fire(wf.schedule, last, tz)
            if slot > now:
                if wf.name not in state:
                    # Remember when we first saw it, so the next tick compares against this.
                    self._save_last(wf.name, now)
                decisions.append(TickDecision(wf.name, "not_due"))
                continue
            missed = 1
            probe = slot
            while missed < 1000:
                probe = next_fire(wf.schedule, probe, tz)
                if probe > now:
                    break
                missed += 1
            if self.in_flight(wf.name):
                decisions.append(TickDecision(wf.name, "skipped_in_flight", slot, missed))
                continue
            # Record before starting: a crash mid-run must not re-fire the same slots.
            self._save_last(wf.name, now)
            self._start(wf.name)
            decisions.append(TickDecision(wf.name, "started", slot, missed))
        return decisions

    def _start(self, workflow: str) -> None:
        if not self.run_in_thread:
            self.launcher(workflow)
            return
        t = threading.Thread(target=self._guarded, args=(workflow,), name=f"schedule-{workflow}", daemon=True)
        self._threads[workflow] = t
        t.start()

    def _guarded(self, workflow: str) -> None:
        try:
            self.launcher(workflow)
        except Exception as exc:  # noqa: BLE001 - one failing workflow must not kill the loop
            try:
                self.ws.store.append_event("schedule.failed", data={"workflow": workflow, "error": str(exc)})
            except Exception:  # noqa: BLE001
                pass

    def wait_idle(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for t in list(self._threads.values()):
            t.join(max(0.0, deadline - time.monotonic()))
