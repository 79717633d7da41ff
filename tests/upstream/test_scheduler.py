"""Port of the original's `src/scheduler/mod.rs` tests (@ ad3f323) through `tt schedule list`
and config validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .conftest import WS

SCHEDULED = WS + '\n[[workflow]]\nname = "verify"\nschedule = "{expr}"\n[[workflow.step]]\ntype = "command"\nrun = "true"\n'


def test_parse_schedule_accepts_five_field_cron(ws, tt_json):
    """upstream: src/scheduler/mod.rs::tests::parse_schedule_accepts_five_field_cron — due again
    within the next 15 minutes."""
    root = ws(SCHEDULED.format(expr="*/15 * * * *"))
    rc, data, err = tt_json("schedule", "list", cwd=root)
    assert rc == 0, err
    (entry,) = data
    nxt = datetime.fromisoformat(entry["next_fire"])
    now = datetime.now(UTC)
    assert now - timedelta(seconds=5) <= nxt <= now + timedelta(minutes=15)
    assert nxt.minute % 15 == 0


def test_parse_schedule_rejects_bad_field_count(ws, tt):
    """upstream: src/scheduler/mod.rs::tests::parse_schedule_rejects_bad_field_count"""
    root = ws(SCHEDULED.format(expr="* * * *"))
    res = tt("schedule", "list", cwd=root)
    assert res.returncode != 0
    assert "5-field cron" in res.stderr and "Traceback" not in res.stderr


def test_parse_schedule_trims_surrounding_whitespace(load_toml):
    """upstream: src/scheduler/mod.rs (@ 25a4dd1)::tests::parse_schedule_trims_surrounding_whitespace"""
    from tutti.workflows.scheduler import next_fire

    cfg = load_toml(SCHEDULED.format(expr="  */15 * * * *  ")).config
    nxt = next_fire(cfg.workflows[0].schedule.strip(), datetime(2026, 1, 1, 10, 1, tzinfo=UTC), UTC)
    assert nxt == datetime(2026, 1, 1, 10, 15, tzinfo=UTC)


def test_parse_schedule_rejects_whitespace_only_expression(config_error):
    """upstream: src/scheduler/mod.rs (@ 25a4dd1)::tests::parse_schedule_rejects_whitespace_only_expression"""
    assert "empty schedule" in config_error(SCHEDULED.format(expr="   "))  # ours names it: empty, not malformed


def test_next_due_at_returns_first_time_strictly_after_reference():
    """upstream: src/scheduler/mod.rs (@ 25a4dd1)::tests::next_due_at_returns_first_time_strictly_after_reference
    (ours evaluates `[[workflow]] timezone`, default local; here UTC as in the original)."""
    from tutti.workflows.scheduler import next_fire

    assert next_fire("*/15 * * * *", datetime(2026, 1, 1, 10, 15, tzinfo=UTC), UTC) == datetime(2026, 1, 1, 10, 30, tzinfo=UTC)
