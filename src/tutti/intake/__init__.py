"""Work intake: where work items come from and who holds them.

For the loop driver (engineer H) and everything else that takes work in:

- `tutti.intake.base.WorkItem` — the normalized item (source, id, title, body, labels, url,
  author, created_at, scope, intake, data) with a stable `key` (`github:owner/repo#12`).
- `tutti.intake.base.IntakeSource` — `list_open(limit=)`, `get(id)`, `comment(item, body)`,
  `close(item, comment=None)`, `mark_claimed(item, holder)`, `mark_released(item)`.
  `build_sources(ws)` builds every `[[intake]]` table of tutti.toml; `register_source(kind, f)`
  adds a kind. Kinds: github, linear, jira, queue (`tt queue add`), webhook (`/v1/webhooks`).
- `tutti.intake.leases` — `acquire(store, key, holder, ttl) -> Lease | None` (with a
  `fencing_token` that only grows per key), `heartbeat(store, key, holder, token, ttl)` (raises
  `LeaseLost`), `release(store, key, holder, token)`, `sweep(store)`, `get`, `list_leases`.
  Atomic across processes (`BEGIN IMMEDIATE`).
- `tutti.intake.claims.claim_next(store, sources, holder, ttl=) -> Claim | None` — the next
  item no one holds; `Claim.heartbeat(store)`, `Claim.release(store)`.

The GitHub-comment lease of the original (`tt issue-claim`, label `automation-claimed`) lives
in `tutti.intake.issue_claim`; it is for workflows that call the command, like the original's.
"""
