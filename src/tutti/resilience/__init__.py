"""Runtime recovery of failed agents (inventory §9.3): policy (`policy.RecoveryPolicy`, pure,
fake-clock testable), backoff and retry hints (`backoff`), the executor the watcher runs
(`recovery.Recovery`), and `history.recovery_history(ws)` — each agent's recovery status read
back from the events (for `tt serve`). `tt serve` gets recovery itself by running
`tutti.sessions.watcher.Watcher`."""
