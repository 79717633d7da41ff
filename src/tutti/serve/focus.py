"""Agent Focus Mode data: terminal, context %, token usage and the worktree diff of one agent.

Each part comes from its ops function and fails independently: a missing worktree must not hide
the terminal. Failures are reported per part under `errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tutti.errors import TuttiError
from tutti.serve import agents_view
from tutti.serve.envelope import plain
from tutti.serve.operations import operation

if TYPE_CHECKING:
    from tutti.workspace import Workspace

REMOTE_PEEK_SECS = 8.0  # how long the focus view waits for another host's pane


def focus(ws: Workspace, agent: str, *, lines: int, usage: bool, with_diff: bool) -> dict[str, Any]:
    row = next(r for r in agents_view.agents(ws) if r["agent"] == agent)
    out: dict[str, Any] = {
        "workspace": ws.name, "agent": agent, "session": row["session"], "state": row["state"],
        "running": row["state"] not in {"stopped"}, "terminal": None,
        "context_pct": row["context_pct"], "usage": None, "diff": None, "errors": {},
    }
    if row.get("host"):  # placed on another host: its pane comes from there
        _remote(ws, row, out, lines)
        if usage:
            out["usage"] = _usage(ws, agent)
        return out
    try:
        captured = plain(operation("agents", "peek")(ws, agent, lines))
        out["terminal"] = captured if isinstance(captured, str) else _text_of(captured)
        out["running"] = True
    except TuttiError as exc:
        out["errors"]["terminal"] = exc.message
        if exc.category == "runtime":
            out["running"] = False
    try:
        live = next((r for r in plain(operation("agents", "status")(ws)) if r.get("agent") == agent), None)
    except TuttiError as exc:
        live, out["errors"]["status"] = None, exc.message
    if live:
        out["state"] = live.get("state") or out["state"]
        out["running"] = bool(live.get("running"))
        if live.get("context_used_pct") is not None:
            out["context_pct"] = live["context_used_pct"]
    if with_diff:
        try:
            out["diff"] = _diff(ws, agent)
        except TuttiError as exc:
            out["errors"]["diff"] = exc.message
    if usage:
        out["usage"] = _usage(ws, agent)
    return out


def _remote(ws: Workspace, row: dict[str, Any], out: dict[str, Any], lines: int) -> None:
    """The pane of an agent on another host through that host's `peek` (bounded wait: a host that
    does not answer is a state of its own, `host_answered: false`, not a hung dashboard). State and
    context stay the forwarded events' reading; the worktree (diff) lives on the host."""
    from tutti.distributed.remote import HostNoAnswer, call

    host = row["host"]
    out.update(host=host, host_answered=True)
    try:
        out["terminal"] = call(ws, host, "peek", {"agent": row["agent"], "lines": lines},
                               timeout_secs=REMOTE_PEEK_SECS, answer_within=REMOTE_PEEK_SECS)
    except HostNoAnswer as exc:
        out["host_answered"] = False
        out["errors"]["terminal"] = exc.message
    except TuttiError as exc:  # the host answered: e.g. the agent is not running there
        out["errors"]["terminal"] = f"host '{host}': {exc.message}"
        if exc.category == "runtime":
            out["running"] = False
    out["errors"]["diff"] = f"the worktree is on host '{host}'"


def _text_of(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("text", "output", "capture", "terminal"):
            if isinstance(value.get(key), str):
                return value[key]
    return None if value is None else str(value)


def _diff(ws: Workspace, agent: str) -> dict[str, Any]:
    result = plain(operation("diff", "diff")(ws, agent, "patch"))
    keys = ("text", "files_changed", "insertions", "deletions", "branch", "base", "commits", "status")
    return {k: result.get(k) for k in keys}


def _usage(ws: Workspace, agent: str) -> dict[str, Any]:
    """Token usage the usage module collected from the runtime's local logs (and model calls)."""
    try:
        return plain(operation("usage", "usage_for_agent")(ws, agent))
    except TuttiError as exc:
        return {"error": exc.message}
