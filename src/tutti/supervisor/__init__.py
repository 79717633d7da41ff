"""The supervisor: the long-running part of Tutti, above `ops/` and below `cli/` and `serve/`.

It reacts to what happens — pane observations, state-change events in the store, the clock —
and calls `ops` functions; nothing below it imports it. Parts:

- `watcher` — the watcher loop: tmux control-mode output → classification → `agent.*` events
  (the pure pieces it drives stay below: `sessions/` for tmux and screens, `runtimes/` for
  adapters, classification and settle waits);
- `recovery` — restarts failed agents (the pure policy, backoff and history stay in
  `resilience/`), through `ops.agents.up`;
- `handoff` — the auto-handoff trigger (`[handoff] auto`) on each finished turn;
- `scheduler` — the loop that starts scheduled workflows (`workflows.scheduler` decides what is due);
- `core.Supervisor` — runs the parts for one or more workspaces in threads, each part enabled
  by config (`core.Parts.for_host`); `process` — the background process per workspace.

Every host runs the same parts: `tt up` starts the background process
(`python -m tutti.supervisor ROOT`, pidfile `.tutti/state/watcher.pid`, log
`.tutti/logs/watcher.log`), `tt serve` runs a `Supervisor` in its own process, and a future
`tt watch` does the same in the foreground. Later the SDLC loop driver and merge queue join here.
"""
