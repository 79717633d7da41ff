"""Cron scheduling with a frozen clock: POSIX day-of-week, DST, missed-slot collapse, in-flight."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tutti.config.models import TuttiConfig
from tutti.errors import ConfigError
from tutti.workflows.scheduler import Scheduler, next_fire
from tutti.workspace import Workspace

NY = ZoneInfo("America/New_York")


def make_ws(tmp_path, workflows):
    cfg = TuttiConfig.model_validate({"workspace": {"name": "sched"}, "workflow": workflows})
    (tmp_path / ".tutti" / "state").mkdir(parents=True)
    return Workspace(root=tmp_path, config=cfg)


def fires_between(expr, start, end, tz):
    out, t = [], start
    while True:
        t = next_fire(expr, t, tz)
        if t > end:
            return out
        out.append(t)


def test_day_of_week_zero_and_seven_are_both_sunday():
    start = datetime(2026, 2, 28, 12, 0, tzinfo=UTC)  # a Saturday
    for expr in ("0 9 * * 0", "0 9 * * 7", "0 9 * * sun"):
        fire = next_fire(expr, start, UTC)
        assert fire == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
        assert fire.weekday() == 6  # Sunday


def test_weekday_range_skips_the_weekend():
    start = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)  # Friday after 09:00
    assert next_fire("0 9 * * 1-5", start, UTC) == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # Monday


def test_day_of_month_and_day_of_week_both_restricted_match_either():
    # POSIX: "0 9 13 * 5" = every 13th OR every Friday.
    got = fires_between("0 9 13 * 5", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC), UTC)
    days = [f.day for f in got]
    assert days == [6, 13, 20, 27]  # 13 March 2026 is itself a Friday
    got = fires_between("0 9 1 * 1", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC), UTC)
    assert [f.day for f in got] == [1, 2, 9, 16, 23, 30]  # the 1st (a Sunday) plus every Monday
    got = fires_between("0 9 1 * 1", datetime(2026, 3, 31, tzinfo=UTC), datetime(2026, 4, 7, tzinfo=UTC), UTC)
    assert [(f.month, f.day) for f in got] == [(4, 1), (4, 6)]  # 1 April is a Wednesday


def test_schedule_is_evaluated_in_the_workflow_timezone_not_utc():
    fire = next_fire("0 9 * * *", datetime(2026, 6, 1, 0, 0, tzinfo=UTC), ZoneInfo("Europe/Berlin"))
    assert fire == datetime(2026, 6, 1, 7, 0, tzinfo=UTC)  # 09:00 CEST


def test_spring_forward_nonexistent_time_fires_exactly_once_shifted_by_the_gap():
    # 2026-03-08: New York jumps 02:00 EST -> 03:00 EDT; 02:30 does not exist that day.
    fires = fires_between("30 2 * * *", datetime(2026, 3, 7, 12, 0, tzinfo=UTC),
                          datetime(2026, 3, 9, 12, 0, tzinfo=UTC), NY)
    assert len(fires) == 2  # the 8th and the 9th: once each
    spring = fires[0].astimezone(NY)
    assert (spring.day, spring.hour, spring.minute) == (8, 3, 30)  # shifted forward by the 1h gap
    assert fires[1].astimezone(NY).hour == 2


def test_fall_back_repeated_time_fires_once_on_first_occurrence():
    # 2026-11-01: 01:00-02:00 happens twice in New York.
    fires = fires_between("30 1 * * *", datetime(2026, 10, 31, 12, 0, tzinfo=UTC),
                          datetime(2026, 11, 2, 12, 0, tzinfo=UTC), NY)
    assert len(fires) == 2
    first = fires[0]
    assert first == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, the first occurrence


def test_fall_back_tick_during_repeated_hour_does_not_refire(tmp_path):
    launched = []
    ws = make_ws(tmp_path, [{"name": "nightly", "schedule": "30 1 * * *", "timezone": "America/New_York"}])
    s = Scheduler(ws, launcher=launched.append, run_in_thread=False)
    s.tick(datetime(2026, 11, 1, 5, 29, tzinfo=UTC))
    assert s.tick(datetime(2026, 11, 1, 5, 31, tzinfo=UTC))[0].action == "started"
    assert s.tick(datetime(2026, 11, 1, 6, 31, tzinfo=UTC))[0].action == "not_due"  # 01:31 EST
    assert launched == ["nightly"]


def test_missed_slots_collapse_into_one_run(tmp_path):
    launched = []
    ws = make_ws(tmp_path, [{"name": "every5", "schedule": "*/5 * * * *", "timezone": "UTC"}])
    s = Scheduler(ws, launcher=launched.append, run_in_thread=False)
    assert s.tick(datetime(2026, 1, 1, 10, 0, tzinfo=UTC))[0].action == "started"
    # The scheduler was down for an hour: twelve slots passed, one run starts.
    d = s.tick(datetime(2026, 1, 1, 11, 2, tzinfo=UTC))[0]
    assert d.action == "started" and d.missed_slots == 12
    assert launched == ["every5", "every5"]
    assert s.tick(datetime(2026, 1, 1, 11, 3, tzinfo=UTC))[0].action == "not_due"


def test_last_run_persists_atomically_across_scheduler_instances(tmp_path):
    ws = make_ws(tmp_path, [{"name": "hourly", "schedule": "0 * * * *", "timezone": "UTC"}])
    Scheduler(ws, launcher=lambda w: None, run_in_thread=False).tick(datetime(2026, 1, 1, 10, 0, 30, tzinfo=UTC))
    state = json.loads((tmp_path / ".tutti/state/scheduler-last-runs.json").read_text())
    assert state["hourly"].startswith("2026-01-01T10:00:30")
    launched = []
    fresh = Scheduler(ws, launcher=launched.append, run_in_thread=False)
    assert fresh.tick(datetime(2026, 1, 1, 10, 30, tzinfo=UTC))[0].action == "not_due"
    assert launched == []


def test_workflow_in_flight_is_not_started_twice(tmp_path):
    release = threading.Event()
    started = []

    def slow(workflow):
        started.append(workflow)
        release.wait(30)

    ws = make_ws(tmp_path, [{"name": "slow", "schedule": "* * * * *", "timezone": "UTC"}])
    s = Scheduler(ws, launcher=slow)
    assert s.tick(datetime(2026, 1, 1, 10, 0, tzinfo=UTC))[0].action == "started"
    assert s.tick(datetime(2026, 1, 1, 10, 1, tzinfo=UTC))[0].action == "skipped_in_flight"
    release.set()
    s.wait_idle(30)
    assert s.tick(datetime(2026, 1, 1, 10, 2, tzinfo=UTC))[0].action == "started"
    release.set()
    s.wait_idle(30)
    assert started == ["slow", "slow"]


def test_invalid_expression_and_timezone_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="workflow 'bad' → schedule: invalid cron expression"):
        Scheduler(make_ws(tmp_path, [{"name": "bad", "schedule": "0 9 * *"}]))
    with pytest.raises(ConfigError, match="unknown timezone 'Mars/Olympus'"):
        Scheduler(make_ws(tmp_path / "b", [{"name": "x", "schedule": "0 9 * * *", "timezone": "Mars/Olympus"}]))


def test_schedule_list_cli_shows_next_fire(tmp_path, tt):
    (tmp_path / "tutti.toml").write_text(
        '[workspace]\nname = "s"\n\n[[workflow]]\nname = "nightly"\nschedule = "0 3 * * *"\n'
        'timezone = "UTC"\n\n[[workflow.step]]\ntype = "command"\nrun = "true"\n'
    )
    res = tt("schedule", "list", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data[0]["workflow"] == "nightly"
    nxt = datetime.fromisoformat(data[0]["next_fire"])
    assert (nxt.hour, nxt.minute) == (3, 0) and nxt > datetime.now(UTC)


def test_schedule_run_foreground_loop_starts_a_due_workflow(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    (tmp_path / "tutti.toml").write_text(
        '[workspace]\nname = "s"\n\n[[workflow]]\nname = "tick"\nschedule = "* * * * *"\n\n'
        '[[workflow.step]]\ntype = "command"\nrun = "echo ran >> ticked.txt"\n'
    )
    child = subprocess.Popen([sys.executable, "-m", "tutti", "schedule", "run", "--interval", "1"], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (tmp_path / "ticked.txt").exists():
            assert child.poll() is None, child.communicate()
            time.sleep(0.2)
        first_minute = int(time.time() // 60)
        time.sleep(2.5)  # further ticks in the same minute do not start it again
        minutes = int(time.time() // 60) - first_minute + 1
        assert 1 <= (tmp_path / "ticked.txt").read_text().count("ran") <= minutes
    finally:
        os.killpg(child.pid, signal.SIGINT)
        out, _ = child.communicate(timeout=30)
    assert "started workflow 'tick'" in out


def test_a_live_run_started_elsewhere_counts_as_in_flight_but_a_crashed_one_does_not(tmp_path):
    import os

    ws = make_ws(tmp_path, [{"name": "nightly", "schedule": "* * * * *", "timezone": "UTC"}])
    launched = []
    s = Scheduler(ws, launcher=launched.append, run_in_thread=False)
    with ws.store.transaction() as conn:
        conn.execute("INSERT INTO runs (run_id, workflow, status, started_at, params) VALUES "
                     "('live', 'nightly', 'running', 'x', ?)", (json.dumps({"pid": os.getpid()}),))
        conn.execute("INSERT INTO runs (run_id, workflow, status, started_at, params) VALUES "
                     "('dead', 'nightly', 'running', 'x', ?)", (json.dumps({"pid": 2 ** 22 + 12345}),))
    assert s.tick(datetime(2026, 1, 1, 10, 0, tzinfo=UTC))[0].action == "skipped_in_flight"
    with ws.store.transaction() as conn:
        conn.execute("UPDATE runs SET status = 'succeeded' WHERE run_id = 'live'")
    assert s.tick(datetime(2026, 1, 1, 10, 1, tzinfo=UTC))[0].action == "started"
    assert launched == ["nightly"]


def test_local_zone_follows_tz_environment(monkeypatch):
    from tutti.workflows.scheduler import zone_for

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    fire = next_fire("0 9 * * *", datetime(2026, 6, 1, 0, 0, tzinfo=UTC), zone_for(None))
    assert fire == datetime(2026, 6, 2, 0, 0, tzinfo=UTC)  # 09:00 JST; strictly after the start
