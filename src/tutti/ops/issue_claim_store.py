"""`tt issue-claim ... --intake NAME`: the same claim lifecycle for any `[[intake]]` source
(Linear, Jira, the local queue, webhook items, GitHub too), held as a store lease instead of a
GitHub comment — with a fencing token, heartbeats, expiry and sweep (`tutti.intake.leases`).

`selected_issue.json` has the GitHub variant's fields plus `source`, `intake`, `item_key`,
`fencing_token` and `holder`; `claim_comment_id` is null.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tutti.fsutil import write_text_atomic
from tutti.intake import leases
from tutti.intake.issue_claim import ClaimError, run_id


def _ws():
    from tutti.ops.resolve import current_workspace

    return current_workspace()


def _source(ws, name: str):
    from tutti.intake.base import build_sources

    return build_sources(ws, [name])[0]


def acquire(output: Path, intake: str, *, ttl: int | None = None) -> tuple[dict[str, Any], list[str]]:
    from tutti.intake.claims import claim_next

    ws = _ws()
    source = _source(ws, intake)
    cfg = next(c for c in ws.config.intake if c.name == intake)
    ttl = ttl or cfg.lease_ttl_secs
    holder = run_id()
    claim = claim_next(ws.store, [source], holder, ttl=ttl)
    if claim is None:
        if not source.list_open(limit=1):
            raise ClaimError(f"no unclaimed open items found in intake '{intake}'")
        raise ClaimError(f"could not claim any candidate item from intake '{intake}'")
    item, lease = claim.item, claim.lease
    selected = {"issue_number": int(item.id) if item.id.isdigit() else item.id, "title": item.title, "url": item.url or "",
                "labels": list(item.labels), "author": item.author, "created_at": item.created_at or "", "body": item.body,
                "run_id": holder, "claimed_at": lease.acquired_at, "lease_ttl_secs": ttl,
                "last_heartbeat_at": lease.heartbeat_at, "claim_comment_id": None, "claim_status": "active",
                "source": item.source, "intake": intake, "item_key": item.key, "fencing_token": lease.fencing_token,
                "holder": holder}
    output.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output, json.dumps(selected, indent=2) + "\n")
    return selected, [f"claimed {item.key} (fencing token {lease.fencing_token}, ttl {ttl}s, run {holder})"]


def _state(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ClaimError(f"cannot read state file: {path}: {exc}", hint="run `tt issue-claim acquire` first") from None


def heartbeat(state_path: Path) -> tuple[dict[str, Any], list[str]]:
    state, ws = _state(state_path), _ws()
    try:
        lease = leases.heartbeat(ws.store, state["item_key"], state["holder"], int(state["fencing_token"]),
                                 int(state["lease_ttl_secs"]))
    except leases.LeaseLost:
        raise ClaimError("claim is no longer active — cannot renew") from None
    state["last_heartbeat_at"] = lease.heartbeat_at
    write_text_atomic(state_path, json.dumps(state, indent=2) + "\n")
    return state, [f"heartbeat renewed for {state['item_key']} (expires {lease.expires_at})"]


def release(state_path: Path, *, reason: str | None = None) -> tuple[dict[str, Any], list[str]]:
    state, ws = _state(state_path), _ws()
    reason = reason or "workflow completed"
    done = leases.release(ws.store, state["item_key"], state["holder"], int(state["fencing_token"]), reason=reason)
    notes = [] if done else [f"claim already released for {state['item_key']}"]
    try:
        from tutti.intake.base import WorkItem

        source = _source(ws, state["intake"])
        source.mark_released(WorkItem(source=state["source"], id=str(state["issue_number"]), title=state["title"]))
    except Exception:  # noqa: BLE001 - the store lease is what counts; a courtesy label may fail
        pass
    state["claim_status"] = "released"
    write_text_atomic(state_path, json.dumps(state, indent=2) + "\n")
    notes.append(f"released claim on {state['item_key']} (reason: {reason})")
    return state, notes


def sweep(intake: str) -> tuple[dict[str, Any], list[str]]:
    ws = _ws()
    source = _source(ws, intake)
    swept = leases.sweep(ws.store, prefix=f"{source.kind}:")
    notes = [f"released stale claim on {lease.key} (holder {lease.holder}, expired {lease.expires_at})" for lease in swept]
    notes.append(f"sweep complete: {len(swept)} stale claims released")
    return {"stale_released": len(swept), "keys": [lease.key for lease in swept]}, notes
