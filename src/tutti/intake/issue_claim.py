"""`tt issue-claim`: the original's GitHub-comment issue leases (inventory §7.3), over the
GitHub client instead of `gh`.

A claim is an issue comment `<!-- tutti-issue-claim {json} -->` plus a human line; the issue
gets the `automation-claimed` label. Racing claimants each post a claim comment and re-read the
issue's claims: the active, unexpired claim with the **lowest comment id** wins (the server
orders ids, so runner clocks do not matter); losers mark theirs Released (`lost claim race`)
and try the next candidate. A claim expires when now > last_heartbeat_at + lease_ttl_secs.
Inside GitHub Actions only comments by bots, `github-actions[bot]` or `$GITHUB_ACTOR` count.

The winner's `selected_issue.json` carries what later workflow steps need; `heartbeat`,
`release` read it back. Everything here returns data and notes; the CLI prints.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tutti.errors import TuttiError

CLAIM_LABEL = "automation-claimed"
MARKER_START, MARKER_END = "<!-- tutti-issue-claim ", " -->"
DEFAULT_TTL_SECS = 1800
MAX_EVENTS = 20
DEFAULT_OUTPUT = Path(".tutti/state/auto/selected_issue.json")


class ClaimError(TuttiError):
    """An issue claim could not be taken, renewed or released."""

    category = "claim"


# -- the claim record -------------------------------------------------------------------------
def _now() -> datetime:
    return datetime.now(UTC)


def fmt_ts(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_ts(text: str) -> datetime:
    """RFC3339 with any number of fraction digits (the original writes nanoseconds)."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", text.strip())
    if not m:
        raise ValueError(f"not a timestamp: {text!r}")
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    tz = m.group(3) or "Z"
    return datetime.fromisoformat(f"{m.group(1)}.{frac}{'+00:00' if tz == 'Z' else tz}").astimezone(UTC)


@dataclass
class ClaimRecord:
    run_id: str
    claimed_at: datetime
    lease_ttl_secs: int
    last_heartbeat_at: datetime
    status: str = "active"  # active | released
    released_at: datetime | None = None
    release_reason: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    schema_version: int = 1

    @classmethod
    def new(cls, run_id: str, ttl: int) -> ClaimRecord:
        now = _now()
        return cls(run_id, now, ttl, now, events=[{"timestamp": fmt_ts(now), "kind": "Acquired"}])

    @property
    def expires_at(self) -> datetime:
        return self.last_heartbeat_at + timedelta(seconds=self.lease_ttl_secs)

    def is_expired(self, now: datetime | None = None) -> bool:
        return (now or _now()) > self.expires_at

    def push_event(self, kind: str, detail: str | None = None) -> None:
        event: dict[str, Any] = {"timestamp": fmt_ts(_now()), "kind": kind}
        if detail is not None:
            event["detail"] = detail
        self.events.append(event)
        del self.events[:-MAX_EVENTS]

    def release(self, reason: str) -> None:
        self.status, self.released_at, self.release_reason = "released", _now(), reason
        self.push_event("Released", reason)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"schema_version": self.schema_version, "run_id": self.run_id,
                             "claimed_at": fmt_ts(self.claimed_at), "lease_ttl_secs": self.lease_ttl_secs,
                             "last_heartbeat_at": fmt_ts(self.last_heartbeat_at), "status": self.status}
        if self.released_at is not None:
            d["released_at"] = fmt_ts(self.released_at)
        if self.release_reason is not None:
            d["release_reason"] = self.release_reason
        d["events"] = self.events
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ClaimRecord:
        return cls(run_id=str(d["run_id"]), claimed_at=parse_ts(d["claimed_at"]), lease_ttl_secs=int(d["lease_ttl_secs"]),
                   last_heartbeat_at=parse_ts(d["last_heartbeat_at"]), status=str(d.get("status", "active")).lower(),
                   released_at=parse_ts(d["released_at"]) if d.get("released_at") else None,
                   release_reason=d.get("release_reason"), events=list(d.get("events") or []),
                   schema_version=int(d.get("schema_version", 1)))


def encode(record: ClaimRecord) -> str:
    emoji, status = ("🔒", "Active") if record.status == "active" else ("🔓", "Released")
    return (f"{MARKER_START}{json.dumps(record.to_json(), separators=(',', ':'))}{MARKER_END}\n\n"
            f"{emoji} **Claim** — run `{record.run_id}` | status: `{status}` | "
            f"expires: {record.expires_at.strftime('%Y-%m-%dT%H:%M:%SZ')} | "
            f"heartbeat: {record.last_heartbeat_at.strftime('%Y-%m-%dT%H:%M:%SZ')}")


def decode(body: str) -> ClaimRecord | None:
    start = body.find(MARKER_START)
    if start < 0:
        return None
    rest = body[start + len(MARKER_START):]
    end = rest.find(MARKER_END)
    if end < 0:
        return None
    try:
        return ClaimRecord.from_json(json.loads(rest[:end]))
    except (ValueError, KeyError, TypeError):
        return None


def trusted(comment: dict[str, Any]) -> bool:
    """Locally any author; inside GitHub Actions only bots and the workflow's actor."""
    if not os.environ.get("GITHUB_ACTIONS"):
        return True
    user = comment.get("user") or {}
    actor = os.environ.get("GITHUB_ACTOR", "")
    return user.get("type") == "Bot" or user.get("login") == "github-actions[bot]" or (bool(actor) and user.get("login") == actor)


def run_id() -> str:
    return os.environ.get("GITHUB_RUN_ID") or f"local-{os.getpid()}"
