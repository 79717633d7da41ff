"""Runs on Temporal, agents on many hosts, one event spine (`[engine] kind = "temporal"`).

* `settings`   — queue names, step routing, connection options; no Temporal import.
* `workflow_def` — the Temporal workflow: a deterministic port of the engine's wave scheduler
  over the same plan (no I/O); every side effect is an activity.
* `activities` — the activity bodies: `begin_wave`, `record_batch`, `finish_run` on the control
  queue (they write the control store through `checkpoints.RunRecorder`, like the local engine),
  `run_step` on the step's queue (the executor seam: `steps.executor_for(...).execute`).
* `spine`      — host events forwarded into the control store exactly once ((host, host_seq)).
* `records`    — the run row and the workflow input (no SDK).
* `worker`     — connection and workers: the Temporal SDK is imported only from `worker`, `run`,
  `remote` and `workflow_def`, and only when kind = "temporal".
* `run`        — what `ops.run` calls for `tt run` / `tt verify` / the API (start, attach, cancel).
* `remote`     — `tt status/peek/logs/send` for agents on another host, through its worker.
* `control`    — `tt serve`'s standing control worker (a child process, restarted with backoff).
* `approvals`  — an approval of a live run decided through its workflow (a `TuttiRun` update).
* `schedules`  — workflows' `schedule`s as Temporal Schedules, synced from tutti.toml.
"""
