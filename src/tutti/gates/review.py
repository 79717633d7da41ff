"""Review packets and structured verdicts (inventory §7.2, plus the verdict it never collected).

A packet is a Markdown file `.tutti/state/reviews/{agent}-review-{YYYYmmdd-HHMMSS}.md` with
the agent branch's committed diff (stat + diff, truncated at 120000 chars) and the worktree's
WIP diff — including a list of untracked files, which the original silently left out.

The reviewer agent is asked to write a verdict JSON file at a path inside its own worktree:

    {"verdict": "approve" | "request_changes", "summary": "...",
     "findings": [{"file": "src/x.py", "line": 12, "severity": "high", "message": "..."}]}

`parse_verdict` validates it with messages naming the file and key; `record_verdict` stores it
as a `review.verdict` event plus a JSON copy next to the packet. The verdict records the
branch head it reviewed, so a merge gate can tell a stale approval from a current one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti.errors import GateError, NotFoundError, RoutingError
from tutti.fsutil import write_json_atomic, write_text_atomic
from tutti.gates.repo import Repo

if TYPE_CHECKING:
    from tutti.workspace import Workspace

DIFF_LIMIT = 120000
TRUNCATION_MARK = "... [truncated by tt review]"
VERDICTS = ("approve", "request_changes")
VERDICT_DIRNAME = ".tutti-review"  # inside the reviewer's worktree; git-excluded



@dataclass
class ReviewPacket:
    agent: str
    path: Path
    branch: str
    base: str
    head: str | None
    generated: str
    committed_stat: str
    wip_stat: str
    untracked: list[str]
    has_changes: bool

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


@dataclass
class Finding:
    file: str
    line: int | None
    severity: str
    message: str


@dataclass
class Verdict:
    verdict: str  # "approve" | "request_changes"
    summary: str
    findings: list[Finding] = field(default_factory=list)
    agent: str | None = None
    reviewer: str | None = None
    packet: str | None = None
    head: str | None = None  # agent branch commit that was reviewed
    source: str | None = None  # the file the reviewer wrote
    recorded_at: str | None = None

    @property
    def approved(self) -> bool:
        return self.verdict == "approve"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Verdict:
        findings = [Finding(**f) for f in d.get("findings") or []]
        keys = ("verdict", "summary", "agent", "reviewer", "packet", "head", "source", "recorded_at")
        return cls(findings=findings, **{k: d.get(k) for k in keys})

    def findings_text(self, limit: int = 20) -> str:
        lines = []
        for f in self.findings[:limit]:
            where = f"{f.file}:{f.line}" if f.line is not None else f.file
            lines.append(f"[{f.severity}] {where}: {f.message}")
        if len(self.findings) > limit:
            lines.append(f"... and {len(self.findings) - limit} more")
        return "\n".join(lines)


def _stamp(now: datetime | None = None) -> str:
    return (now or datetime.now()).strftime("%Y%m%d-%H%M%S")


def reviews_dir(ws: Workspace) -> Path:
    return ws.state_dir / "reviews"


def _agent_branch(ws: Workspace, agent: str) -> str:
    cfg = ws.config.agent(agent)
    if cfg is None:
        known = ", ".join(a.name for a in ws.config.agents) or "(none)"
        raise NotFoundError(f"agent '{agent}' not found in {ws.config_path}", hint=f"known agents: {known}")
    return cfg.branch_name()


def _truncate(text: str) -> str:
    return text if len(text) <= DIFF_LIMIT else text[:DIFF_LIMIT] + "\n" + TRUNCATION_MARK + "\n"


def build_packet(ws: Workspace, agent: str, *, now: datetime | None = None) -> ReviewPacket:
    """Write the review packet for `agent`'s branch (has_changes=False: nothing written)."""
    branch = _agent_branch(ws, agent)
    root = Repo(ws.root)
    if not root.branch_exists(branch):
        raise RoutingError(f"agent branch '{branch}' does not exist",
                           hint=f"launch the agent with a worktree first: tt up {agent}")
    base = root.merge_base("HEAD", branch) or "HEAD"
    head = root.rev(branch)
    committed_stat = root.out("diff", "--stat", f"{base}..{branch}")
    committed = root.out("diff", f"{base}..{branch}")
    wt_path = ws.worktree_path(agent)
    wip_stat = wip = ""
    untracked: list[str] = []
    if wt_path.is_dir():
        wt = Repo(wt_path)
        wip_stat = wt.out("diff", "HEAD", "--stat")
        wip = wt.out("diff", "HEAD")
        untracked = [u for u in wt.untracked() if not u.startswith(VERDICT_DIRNAME + "/")]
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    has_changes = bool(committed.strip() or wip.strip() or untracked)
    directory = reviews_dir(ws)
    path = directory / f"{agent}-review-{_stamp(now)}.md"
    n = 1
    while path.exists():  # two reviews in one second must not overwrite each other
        n += 1
        path = directory / f"{agent}-review-{_stamp(now)}-{n}.md"
    packet = ReviewPacket(agent, path, branch, base, head, generated, committed_stat, wip_stat, untracked, has_changes)
    if not has_changes:
        return packet
    untracked_md = "\n".join(f"- {u}" for u in untracked) or "- (none)"
    text = (
        f"# Review Packet: {agent}\n\nGenerated: {generated}\nBranch: {branch}\nMerge base: {base}\n"
        f"Head: {head}\n\n"
        f"## Committed Diff Stat\n\n```text\n{committed_stat.rstrip() or '(none)'}\n```\n\n"
        f"## Worktree WIP Diff Stat\n\n```text\n{wip_stat.rstrip() or '(none)'}\n```\n\n"
        f"## Untracked Files\n\n{untracked_md}\n\n"
        f"## Committed Diff\n\n```diff\n{_truncate(committed).rstrip()}\n```\n\n"
        f"## Worktree WIP Diff\n\n```diff\n{_truncate(wip).rstrip()}\n```\n"
    )
    write_text_atomic(path, text)
    return packet


def reviewer_dir(ws: Workspace, reviewer: str) -> Path:
    """Where the reviewer works: its worktree when it has one, else the workspace root."""
    cfg = ws.config.agent(reviewer)
    if cfg is not None and ws.config.uses_worktree(cfg) and ws.worktree_path(reviewer).is_dir():
        return ws.worktree_path(reviewer)
    return ws.root


def verdict_request_path(ws: Workspace, reviewer: str, packet: ReviewPacket) -> Path:
    """A fresh verdict path inside the reviewer's worktree, excluded from git."""
    base = reviewer_dir(ws, reviewer)
    _exclude_from_git(base, VERDICT_DIRNAME + "/")
    (base / VERDICT_DIRNAME).mkdir(parents=True, exist_ok=True)  # the reviewer only writes a file
    return base / VERDICT_DIRNAME / f"{packet.path.stem}-verdict.json"


def _exclude_from_git(checkout: Path, pattern: str) -> None:
    """Add `pattern` to the repository's info/exclude (shared by all worktrees) once."""
    res = Repo(checkout).run("rev-parse", "--git-common-dir", check=False)
    if not res.ok:
        return
    common = Path(res.stdout.strip())
    if not common.is_absolute():
        common = checkout / common
    exclude = common / "info" / "exclude"
    try:
        current = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        if pattern not in current.splitlines():
            exclude.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(exclude, current + ("" if current.endswith("\n") or not current else "\n") + pattern + "\n")
    except OSError:
        pass  # best effort: the file is still found even if git shows it as untracked


def review_prompt(agent: str, packet: ReviewPacket, verdict_path: Path) -> str:
    return (
        f"Review changes from agent '{agent}'. Read {packet.path} and return prioritized findings "
        f"(bugs, regressions, missing tests) with file/line references. "
        f"When done, write your verdict as JSON to {verdict_path} with exactly this shape: "
        '{"verdict": "approve" or "request_changes", "summary": "<one paragraph>", '
        '"findings": [{"file": "<path>", "line": <number or null>, "severity": "high|medium|low", '
        '"message": "<what is wrong and how to fix it>"}]}. '
        "Use request_changes when any finding must be fixed before merging."
    )


def parse_verdict(path: Path) -> Verdict:
    """Read and validate a verdict file; every problem names the file and the key."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFoundError(f"review verdict not found at {path}", hint="the reviewer must write this file") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GateError(f"invalid review verdict in {path}: not valid JSON ({exc})",
                        hint="ask the reviewer to rewrite the file as a single JSON object") from None
    def bad(key: str, why: str) -> GateError:
        return GateError(f"invalid review verdict in {path}: {key}: {why}",
                         hint='expected {"verdict": "approve"|"request_changes", "summary": str, "findings": [...]}')

    if not isinstance(raw, dict):
        raise bad("(root)", "must be a JSON object")
    verdict = str(raw.get("verdict", "")).strip().lower().replace("-", "_").replace(" ", "_")
    if verdict not in VERDICTS:
        raise bad("verdict", f"must be 'approve' or 'request_changes', got {raw.get('verdict')!r}")
    summary = raw.get("summary", "")
    if not isinstance(summary, str):
        raise bad("summary", "must be a string")
    items = raw.get("findings", [])
    if not isinstance(items, list):
        raise bad("findings", "must be a list")
    findings = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise bad(f"findings[{i}]", "must be an object")
        line = item.get("line")
        if line is not None and (isinstance(line, bool) or not isinstance(line, int)):
            if isinstance(line, str) and line.isdigit():
                line = int(line)
            else:
                raise bad(f"findings[{i}].line", "must be an integer or null")
        message = item.get("message")
        if not isinstance(message, str) or not message.strip():
            raise bad(f"findings[{i}].message", "must be a non-empty string")
        findings.append(Finding(file=str(item.get("file") or ""), line=line,
                                severity=str(item.get("severity") or "medium"), message=message))
    return Verdict(verdict=verdict, summary=summary, findings=findings, source=str(path))


def record_verdict(ws: Workspace, verdict: Verdict, *, run_id: str | None = None, step: str | None = None) -> Verdict:
    """Store the verdict: a `review.verdict` event and a JSON copy beside the packet."""
    verdict.recorded_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    if verdict.packet:
        write_json_atomic(Path(verdict.packet).with_suffix(".verdict.json"), verdict.to_dict())
    ws.store.append_event("review.verdict", agent=verdict.agent, run_id=run_id, step=step, data=verdict.to_dict())
    return verdict


def latest_verdict(ws: Workspace, agent: str) -> Verdict | None:
    rows = ws.store.query(
        "SELECT data FROM events WHERE kind = 'review.verdict' AND agent = ? ORDER BY seq DESC LIMIT 1", (agent,)
    )
    return Verdict.from_dict(json.loads(rows[0]["data"])) if rows else None


def latest_packet(ws: Workspace, agent: str) -> Path | None:
    """Newest packet of exactly this agent (`api` never matches `api-gateway-review-...`)."""
    directory = reviews_dir(ws)
    if not directory.is_dir():
        return None
    packets = [p for p in directory.glob(f"{agent}-review-*.md") if p.name[len(agent):].startswith("-review-")
               and _stamp_part(p.name[len(agent) + len("-review-"):])]
    return max(packets, key=lambda p: p.stat().st_mtime_ns, default=None)


def _stamp_part(rest: str) -> bool:
    # "20260101-120000.md" or "20260101-120000-2.md": digits, not another agent's name
    return rest[:8].isdigit() and rest[8:9] == "-" and rest[9:15].isdigit()
