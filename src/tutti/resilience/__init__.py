"""Runtime recovery of failed agents (inventory §9.3): policy (`policy.RecoveryPolicy`, pure,
fake-clock testable), backoff and retry hints (`backoff`), and the executor the watcher runs
(`recovery.Recovery`). `tt serve` gets recovery by running `tutti.sessions.watcher.Watcher`."""
