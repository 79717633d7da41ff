"""The background supervisor process, seen from below: `tutti.lifecycle.supervisor_process`
(moved there so the agent launch core below `ops/` starts it); re-exported for `ops` callers."""

from tutti.lifecycle.supervisor_process import (  # noqa: F401 - re-exported
    MODULE,
    PIDFILE,
    ensure_running,
    pidfile,
    running_pid,
)
