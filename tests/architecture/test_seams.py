"""Small contracts the layering relies on: names the config layer keeps in step with the
runtimes layer, and which supervisor parts each host runs."""

from __future__ import annotations

import time

import pytest

from tutti.config.models import BUILTIN_RUNTIMES
from tutti.config.runtime_names import FAKE_LOOKS, RUNTIME_ALIASES


def test_config_knows_the_runtime_names_the_registry_resolves():
    from tutti.runtimes import fake, registry

    assert tuple(registry.BUILTINS) == tuple(BUILTIN_RUNTIMES)
    assert registry.ALIASES == RUNTIME_ALIASES
    assert tuple(fake.LOOKS) == tuple(FAKE_LOOKS)
    for look in FAKE_LOOKS:  # every look the validator accepts really resolves
        assert registry.get_adapter(f"fake:{look}") is not None


def _ws(tmp_path, extra=""):
    from tutti.workspace import load_workspace_at

    (tmp_path / "tutti.toml").write_text('[workspace]\nname = "s"\n\n[[agent]]\nname = "a"\nruntime = "fake"\n' + extra)
    return load_workspace_at(tmp_path)


SCHEDULED = '\n[[workflow]]\nname = "nightly"\nschedule = "0 3 * * *"\n\n[[workflow.step]]\ntype = "command"\nrun = "true"\n'


def test_parts_by_host_follow_the_config(tmp_path):
    from tutti.supervisor.core import Parts

    (tmp_path / "plain").mkdir()
    plain = _ws(tmp_path / "plain")
    assert Parts.for_host(plain, "serve") == Parts(watch=True, recover=True, schedule=False)
    (tmp_path / "sched").mkdir()
    scheduled = _ws(tmp_path / "sched", SCHEDULED)
    assert Parts.for_host(scheduled, "serve").schedule is True
    assert Parts.for_host(scheduled, "process").schedule is False  # `tt up`'s process never fires schedules
    with pytest.raises(ValueError):
        Parts.for_host(scheduled, "elsewhere")


def test_supervisor_runs_its_scheduler_part_and_stops(tmp_path):
    """A Supervisor with only the scheduler part starts its thread, records `schedule.started`
    in the store, and stops within the timeout when closed."""
    from tutti.supervisor.core import Parts, Supervisor

    ws = _ws(tmp_path, SCHEDULED)
    sup = Supervisor([ws], host="serve", schedule_interval_secs=0.2,
                     parts=lambda _ws: Parts(watch=False, recover=False, schedule=True))
    sup.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not ws.store.read_events(kinds=["schedule.started"]):
            time.sleep(0.05)
        assert ws.store.read_events(kinds=["schedule.started"])[0].data["workflows"] == ["nightly"]
    finally:
        sup.close(timeout=5)
    assert not any(t.is_alive() for t in sup.threads)
