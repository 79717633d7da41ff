"""Agent Focus Mode data: terminal, context %, token usage and the worktree diff of one agent.

Each part comes from its ops function and fails independently: a missing worktree must not hide
the terminal. Failures are reported per part under `errors`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tutti.errors import TuttiError
from tutti.serve import agents_view
from tutti.serve.envelope import _plain
from tutti.serve.operations import operation

if TYPE_CHECKING:
    from tutti.workspace import Workspace

_STAT = re.compile(r"(\d+) files? changed(?:, (\d+) insertions?\(\+\))?(?:, (\d+) deletions?\(-\))?")


def focus(ws: Workspace, agent: str, *, lines: int, usage: bool, with_diff: bool) -> dict[str, Any]:
    row = next(r for r in agents_view.agents(ws) if r["agent"] == agent)
    out: dict[str, Any] = {
        "workspace": ws.name, "agent": agent, "session": row["session"], "state": row["state"],
        "running": row["state"] not in {"stopped"}, "terminal": None,
        "context_pct": row["context_pct"], "usage": None, "diff": None, "errors": {},
    }
    try:
        captured = _plain(operation("agents", "peek")(ws, agent, lines))
        out["terminal"] = captured if isinstance(captured, str) else _text_of(captured)
        out["running"] = True
    except TuttiError as exc:
        out["errors"]["terminal"] = exc.message
        if exc.category == "runtime":
            out["running"] = False
    if with_diff:
        try:
            out["diff"] = _diff(ws, agent)
        except TuttiError as exc:
            out["errors"]["diff"] = exc.message
    if usage:
        out["usage"] = _usage(ws, agent)
    return out


def _text_of(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("text", "output", "capture", "terminal"):
            if isinstance(value.get(key), str):
                return value[key]
    return None if value is None else str(value)


def _diff(ws: Workspace, agent: str) -> dict[str, Any]:
    diff = operation("agents", "diff")
    text = _plain(diff(ws, agent, "patch"))
    text = text if isinstance(text, str) else _text_of(text) or ""
    files = ins = dels = 0
    for line in text.splitlines():
        if line.startswith("diff --git "):
            files += 1
        elif line.startswith("+") and not line.startswith("+++"):
            ins += 1
        elif line.startswith("-") and not line.startswith("---"):
            dels += 1
    return {"text": text, "files_changed": files, "insertions": ins, "deletions": dels}


def _usage(ws: Workspace, agent: str) -> dict[str, Any]:
    """Token totals from the store's usage-bearing events (model calls, usage scans) for this agent."""
    totals = {"input_tokens": 0, "output_tokens": 0, "cache_read": 0, "cache_write": 0, "cost_usd": 0.0}
    rows = ws.store.query(
        "SELECT data FROM events WHERE agent = ? AND (kind LIKE 'usage.%' OR kind LIKE 'direct.model%')",
        (agent,),
    )
    import json

    for r in rows:
        data = json.loads(r["data"] or "{}")
        for key in totals:
            value = data.get(key)
            if isinstance(value, (int, float)):
                totals[key] += value
    return totals
