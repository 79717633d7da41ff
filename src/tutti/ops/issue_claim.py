"""`tt issue-claim acquire|heartbeat|release|sweep` (inventory §7.3) over the GitHub client.

Each function returns `(result, notes)`: notes are the progress lines the original printed to
stderr ("claimed issue #3 (comment 1004, ttl 1800s, run local-77)"); the CLI prints them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tutti.fsutil import write_text_atomic
from tutti.intake.issue_claim import (
    CLAIM_LABEL,
    DEFAULT_TTL_SECS,
    ClaimError,
    ClaimRecord,
    _now,
    decode,
    encode,
    fmt_ts,
    run_id,
    trusted,
)


def _client(repo: str | None):
    """The GitHub client; inside a workspace its `[github]` table applies (the original needed
    none, so outside one — or with a broken tutti.toml — the environment alone decides)."""
    from tutti.errors import TuttiError
    from tutti.forge.github import GitHub
    from tutti.workspace import load_workspace

    try:
        settings = load_workspace().config.github
    except TuttiError:
        settings = None
    return GitHub.for_checkout(Path.cwd(), repo, settings=settings)


def _labels(issue: dict[str, Any]) -> list[str]:
    return [lab["name"] if isinstance(lab, dict) else str(lab) for lab in issue.get("labels") or []]


def claims(gh, number: int) -> list[tuple[int, ClaimRecord]]:
    out = []
    for c in gh.comments(number):
        record = decode(c.get("body") or "") if trusted(c) else None
        if record is not None:
            out.append((int(c["id"]), record))
    return out


def winner(found: list[tuple[int, ClaimRecord]]) -> int | None:
    """The lowest comment id among active, unexpired claims (server order beats clock skew)."""
    active = [cid for cid, r in found if r.status == "active" and not r.is_expired()]
    return min(active) if active else None


def release_stale(gh, number: int, notes: list[str]) -> int:
    released = 0
    for cid, record in claims(gh, number):
        if record.status == "active" and record.is_expired():
            record.release("lease expired (stale)")
            record.events[-1]["detail"] = "lease expired"
            gh.update_comment(cid, encode(record))
            released += 1
            notes.append(f"released stale claim on #{number} (run {record.run_id}, "
                         f"expired {record.expires_at.strftime('%Y-%m-%dT%H:%M:%SZ')})")
    return released


def _candidates(gh, issues: list[dict], notes: list[str]) -> list[dict]:
    free = [i for i in issues if CLAIM_LABEL not in _labels(i)]
    if not free:  # every listed issue carries the label: reuse those whose claims all went stale
        for issue in issues:
            release_stale(gh, issue["number"], notes)
            if winner(claims(gh, issue["number"])) is None:
                gh.remove_label(issue["number"], CLAIM_LABEL)
                free.append(issue)
    return sorted(free, key=lambda i: i.get("created_at") or "")


def acquire(output: Path, label: str, milestone: str | None = None, ttl: int | None = None,
            repo: str | None = None) -> tuple[dict[str, Any], list[str]]:
    gh, notes, rid, ttl = _client(repo), [], run_id(), ttl or DEFAULT_TTL_SECS
    issues = gh.list_issues(labels=[label], milestone=milestone, limit=100)
    candidates = _candidates(gh, issues, notes)
    if not candidates:
        where = f"label '{label}'" + (f", milestone '{milestone}'" if milestone else "")
        raise ClaimError(f"no unclaimed open issues found for {where}")
    for issue in candidates:
        number = int(issue["number"])
        record = ClaimRecord.new(rid, ttl)
        gh.add_labels(number, [CLAIM_LABEL])  # label first: later listings skip the issue
        try:
            comment_id = int(gh.comment(number, encode(record))["id"])
        except Exception:
            gh.remove_label(number, CLAIM_LABEL)  # no stranded label when the comment failed
            raise
        won = winner(claims(gh, number))
        if won is not None and won != comment_id:
            record.release("lost claim race")
            gh.update_comment(comment_id, encode(record))
            continue
        selected = _selected(gh, issue, record, comment_id)
        output.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(output, json.dumps(selected, indent=2) + "\n")
        notes.append(f"claimed issue #{number} (comment {comment_id}, ttl {ttl}s, run {rid})")
        return selected, notes
    raise ClaimError(f"could not claim any candidate issue for label '{label}'")


def _selected(gh, issue: dict, record: ClaimRecord, comment_id: int) -> dict[str, Any]:
    body = gh.get_issue(int(issue["number"])).get("body") or ""
    out: dict[str, Any] = {"issue_number": int(issue["number"]), "title": issue.get("title", ""),
                           "url": issue.get("html_url", ""), "labels": _labels(issue)}
    if (issue.get("user") or {}).get("login"):
        out["author"] = issue["user"]["login"]
    out.update(created_at=issue.get("created_at", ""), body=body, run_id=record.run_id,
               claimed_at=fmt_ts(record.claimed_at), lease_ttl_secs=record.lease_ttl_secs,
               last_heartbeat_at=fmt_ts(record.last_heartbeat_at), claim_comment_id=comment_id, claim_status="active",
               repo=gh.repo)
    return out


def _read_state(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ClaimError(f"cannot read state file: {path}: {exc.strerror}",
                         hint="run `tt issue-claim acquire` first, or pass --state PATH") from None
    except ValueError:
        raise ClaimError(f"state file {path} is not JSON", hint="run `tt issue-claim acquire` again") from None


def _find(gh, number: int, comment_id: int) -> ClaimRecord | None:
    for c in gh.comments(number):
        if int(c["id"]) == comment_id:
            return decode(c.get("body") or "")
    return None


def heartbeat(state_path: Path, repo: str | None = None) -> tuple[dict[str, Any], list[str]]:
    state = _read_state(state_path)
    gh = _client(repo or state.get("repo"))
    number, cid = int(state["issue_number"]), int(state["claim_comment_id"])
    record = _find(gh, number, cid)
    if record is None:
        raise ClaimError(f"claim comment {cid} not found on issue #{number}")
    if record.status != "active":
        raise ClaimError("claim is no longer active — cannot renew")
    record.last_heartbeat_at = _now()
    record.push_event("Renewed")
    gh.update_comment(cid, encode(record))
    state["last_heartbeat_at"] = fmt_ts(record.last_heartbeat_at)
    write_text_atomic(state_path, json.dumps(state, indent=2) + "\n")
    return state, [f"heartbeat renewed for #{number} (expires {record.expires_at.strftime('%Y-%m-%dT%H:%M:%SZ')})"]


def release(state_path: Path, reason: str | None = None, repo: str | None = None) -> tuple[dict[str, Any], list[str]]:
    state = _read_state(state_path)
    gh = _client(repo or state.get("repo"))
    number, cid, reason = int(state["issue_number"]), int(state["claim_comment_id"]), reason or "workflow completed"
    notes: list[str] = []
    record = _find(gh, number, cid)
    if record is None:
        notes.append(f"warning: claim comment {cid} not found")
    elif record.status == "released":
        notes.append(f"claim already released for #{number}")
    else:
        record.release(reason)
        gh.update_comment(cid, encode(record))
    if winner(claims(gh, number)) is None:
        gh.remove_label(number, CLAIM_LABEL)
        notes.append(f"removed {CLAIM_LABEL} label from #{number}")
    state["claim_status"] = "released"
    write_text_atomic(state_path, json.dumps(state, indent=2) + "\n")
    notes.append(f"released claim on #{number} (reason: {reason})")
    return state, notes


def sweep(repo: str | None = None) -> tuple[dict[str, Any], list[str]]:
    gh, notes = _client(repo), []
    numbers = [int(i["number"]) for i in gh.list_issues(labels=[CLAIM_LABEL], limit=100)]
    if not numbers:
        notes.append(f"no issues with {CLAIM_LABEL} label")
        return {"stale_released": 0, "labels_removed": 0, "issues": []}, notes
    released = removed = 0
    for number in numbers:
        released += release_stale(gh, number, notes)
        if winner(claims(gh, number)) is None:
            gh.remove_label(number, CLAIM_LABEL)
            removed += 1
            notes.append(f"removed {CLAIM_LABEL} label from #{number}")
    notes.append(f"sweep complete: {released} stale claims released, {removed} labels removed")
    return {"stale_released": released, "labels_removed": removed, "issues": numbers}, notes
