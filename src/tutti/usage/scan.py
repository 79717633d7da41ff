"""Incremental reading of the runtimes' usage logs into the workspace store.

Each log file's read offset (and its reader's small state, e.g. Codex's last cumulative
totals) is kept in `usage_files`, so a scan only reads bytes appended since the previous one;
only complete lines are consumed, so a line being written is picked up next time. Records are
upserted by their de-duplication key, so re-reading a file (rotated, truncated) never double
counts.

Where logs are looked for:
- each agent's isolated home `.tutti/homes/<agent>/` (`.claude`, `.codex`, `.gemini`) — every
  record there belongs to that agent;
- the user's shared homes (`$CLAUDE_CONFIG_DIR`/`~/.claude`, `$CODEX_HOME`/`~/.codex`,
  `$GEMINI_CLI_HOME`/`~`) for agents with `share_home = true` — only records whose cwd /
  project is the workspace or one of its worktrees are kept, attributed by that path.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti.usage import aider, claude_code, codex, gemini_cli
from tutti.usage.records import UsageRecord

if TYPE_CHECKING:
    from tutti.workspace import Workspace

Parser = Callable[[list[str], dict[str, Any]], list[UsageRecord]]
PARSERS: dict[str, Parser] = {
    claude_code.RUNTIME: claude_code.parse_lines,
    codex.RUNTIME: codex.parse_lines,
    gemini_cli.RUNTIME: gemini_cli.parse_lines,
    aider.RUNTIME: aider.parse_lines,
}
AIDER_HISTORY = "aider.chat.history.md"  # where runtimes.prepare points AIDER_CHAT_HISTORY_FILE
MAX_READ_BYTES = 64 << 20  # per file per scan; the rest is read by the next scan


@dataclass
class LogFile:
    runtime: str
    path: Path
    agent: str | None  # known when the file lives in the agent's isolated home


@dataclass
class ScanStats:
    files_seen: int = 0
    files_read: int = 0
    bytes_read: int = 0
    records: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# -- discovery ---------------------------------------------------------------------------------
def _runtime_dirs(claude_dir: Path, codex_dir: Path, gemini_dir: Path) -> list[tuple[str, list[Path]]]:
    return [
        (claude_code.RUNTIME, sorted(claude_dir.glob("projects/*/*.jsonl"))),
        (codex.RUNTIME, sorted(codex_dir.glob("sessions/**/rollout-*.jsonl"))
         + sorted(codex_dir.glob("archived_sessions/**/rollout-*.jsonl"))),
        (gemini_cli.RUNTIME, sorted(gemini_dir.glob("tmp/*/chats/*.jsonl"))),
    ]


def agent_paths(ws: Workspace) -> dict[str, Path]:
    """Each agent's working directory: its worktree, or the workspace root."""
    out: dict[str, Path] = {}
    for agent in ws.config.agents:
        out[agent.name] = ws.worktree_path(agent.name) if ws.config.uses_worktree(agent) else ws.root
    return out


def discover(ws: Workspace, env: dict[str, str] | None = None) -> list[LogFile]:
    from tutti.runtimes.prepare import agent_home

    env = dict(os.environ if env is None else env)
    files: list[LogFile] = []
    for agent in ws.config.agents:
        home = agent_home(ws, agent.name)
        if not home.is_dir():
            continue
        for runtime, paths in _runtime_dirs(home / ".claude", home / ".codex", home / ".gemini"):
            files.extend(LogFile(runtime, p, agent.name) for p in paths)
        history = home / AIDER_HISTORY
        if history.is_file():
            files.append(LogFile(aider.RUNTIME, history, agent.name))
    if any(a.share_home for a in ws.config.agents):
        files.extend(_shared_files(ws, env))
    return files


def _shared_files(ws: Workspace, env: dict[str, str]) -> list[LogFile]:
    user_home = Path(env.get("HOME") or Path.home())
    claude_dir = Path(env.get("CLAUDE_CONFIG_DIR") or user_home / ".claude")
    codex_dir = Path(env.get("CODEX_HOME") or user_home / ".codex")
    gemini_dir = Path(env.get("GEMINI_CLI_HOME") or user_home) / ".gemini"
    files: list[LogFile] = []
    # Claude Code names the project directory after the cwd: look only where ours would be.
    for cwd in {ws.root, *agent_paths(ws).values()}:
        log_dir = claude_code.project_log_dir(claude_dir, cwd)
        files.extend(LogFile(claude_code.RUNTIME, p, None) for p in sorted(log_dir.glob("*.jsonl")))
    for runtime, paths in _runtime_dirs(claude_dir, codex_dir, gemini_dir)[1:]:
        files.extend(LogFile(runtime, p, None) for p in paths)
    return files


# -- attribution -------------------------------------------------------------------------------
@dataclass
class Attribution:
    """Maps a record's cwd (or Gemini project hash) to an agent of this workspace."""

    root: Path
    by_path: dict[Path, str]
    by_hash: dict[str, Path]

    @classmethod
    def of(cls, ws: Workspace) -> Attribution:
        paths = agent_paths(ws)
        # Agents sharing the workspace root cannot be told apart by cwd: leave those unattributed.
        counts: dict[Path, int] = {}
        for p in paths.values():
            counts[p] = counts.get(p, 0) + 1
        by_path = {p.resolve(): name for name, p in paths.items() if counts[p] == 1}
        hashes = {gemini_cli.project_hash(p): p for p in {ws.root, *paths.values()}}
        hashes.update({gemini_cli.project_hash(p.resolve()): p for p in {ws.root, *paths.values()}})
        return cls(ws.root.resolve(), by_path, hashes)

    def cwd_for(self, rec: UsageRecord, state: dict[str, Any]) -> str | None:
        if rec.cwd:
            return rec.cwd
        path = self.by_hash.get(state.get("project_hash") or "")
        return str(path) if path else None

    def in_workspace(self, cwd: str | None) -> bool:
        if not cwd:
            return False
        try:
            Path(cwd).resolve().relative_to(self.root)
            return True
        except ValueError:
            return False

    def agent_for(self, cwd: str | None) -> str | None:
        if not cwd:
            return None
        here = Path(cwd).resolve()
        for path, name in sorted(self.by_path.items(), key=lambda kv: -len(str(kv[0]))):
            if here == path or path in here.parents:
                return name
        return None


# -- scanning ----------------------------------------------------------------------------------
def scan(ws: Workspace, env: dict[str, str] | None = None) -> ScanStats:
    """Read whatever the logs gained since the last scan into `usage_records`."""
    stats = ScanStats()
    attribution = Attribution.of(ws)
    known = {r["path"]: r for r in ws.store.query("SELECT path, inode, offset, state FROM usage_files")}
    for log in discover(ws, env):
        stats.files_seen += 1
        try:
            _scan_file(ws, log, known.get(str(log.path)), attribution, stats)
        except OSError as exc:  # a file rotated away mid-scan: skip it, report it
            stats.errors.append(f"{log.path}: {exc}")
    return stats


def _scan_file(ws: Workspace, log: LogFile, row: Any, attribution: Attribution, stats: ScanStats) -> None:
    st = log.path.stat()
    offset, state = 0, {}
    if row is not None and row["inode"] == st.st_ino and row["offset"] <= st.st_size:
        offset, state = row["offset"], json.loads(row["state"] or "{}")
    if offset == st.st_size and row is not None:
        return
    if state.get("foreign"):
        return  # a shared-home log of another project: never read past its first lines again
    with log.path.open("rb") as fh:
        fh.seek(offset)
        chunk = fh.read(MAX_READ_BYTES)
    end = chunk.rfind(b"\n")
    if end < 0:
        return  # no complete line yet
    chunk = chunk[: end + 1]
    lines = chunk.decode("utf-8", errors="replace").splitlines()
    state.setdefault("path", str(log.path))  # readers whose lines carry no id key by file + line
    records = PARSERS[log.runtime](lines, state)
    stats.files_read += 1
    stats.bytes_read += len(chunk)

    rows = []
    for rec in records:
        cwd = attribution.cwd_for(rec, state)
        agent = log.agent
        if agent is None:
            if not attribution.in_workspace(cwd):
                continue
            agent = attribution.agent_for(cwd)
        rows.append((rec, agent, cwd))
    if log.agent is None and _is_foreign(log.runtime, state, attribution):
        state = {"foreign": True}

    from tutti.store.db import now_iso

    with ws.store.transaction() as conn:
        for rec, agent, cwd in rows:
            conn.execute(_UPSERT, (
                rec.key, rec.runtime, agent, _norm_ts(rec.ts), rec.model, rec.session_id, cwd,
                rec.input_tokens, rec.cache_creation_tokens, rec.cache_read_tokens,
                rec.output_tokens, rec.reasoning_tokens, str(log.path),
            ))
        conn.execute(
            "INSERT INTO usage_files (path, runtime, agent, inode, offset, state, scanned_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET inode=excluded.inode, "
            "offset=excluded.offset, state=excluded.state, scanned_at=excluded.scanned_at",
            (str(log.path), log.runtime, log.agent, st.st_ino, offset + len(chunk), json.dumps(state), now_iso()),
        )
    stats.records += len(rows)


def _is_foreign(runtime: str, state: dict[str, Any], attribution: Attribution) -> bool:
    """A shared log whose header says it belongs to a directory outside this workspace."""
    if runtime == codex.RUNTIME and state.get("cwd"):
        return not attribution.in_workspace(state["cwd"])
    if runtime == gemini_cli.RUNTIME and state.get("project_hash"):
        return state["project_hash"] not in attribution.by_hash
    return False


_UPSERT = (
    "INSERT INTO usage_records (key, runtime, agent, ts, model, session_id, cwd, input_tokens, "
    "cache_creation_tokens, cache_read_tokens, output_tokens, reasoning_tokens, path) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
    "agent=excluded.agent, ts=excluded.ts, model=excluded.model, input_tokens=excluded.input_tokens, "
    "cache_creation_tokens=excluded.cache_creation_tokens, cache_read_tokens=excluded.cache_read_tokens, "
    "output_tokens=excluded.output_tokens, reasoning_tokens=excluded.reasoning_tokens"
)


def _norm_ts(ts: str) -> str:
    """Store timestamps as RFC3339 UTC `...Z` so string order is time order."""
    from datetime import datetime

    if not ts:
        return "1970-01-01T00:00:00.000Z"
    try:
        parsed = datetime.fromisoformat(ts)
    except ValueError:
        return ts
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
