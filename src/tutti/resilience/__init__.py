"""Runtime recovery of failed agents (inventory §9.3), the pure layer: policy
(`policy.RecoveryPolicy`, fake-clock testable), backoff and retry hints (`backoff`), and
`history.recovery_history(ws)` — each agent's recovery status read back from the events (for
`tt serve`). The part that carries restarts out runs in the supervisor
(`tutti.supervisor.recovery.Recovery`, driven by `tutti.supervisor.watcher.Watcher`)."""
