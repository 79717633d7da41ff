"""API-direct use-cases: send a prompt to a direct agent, decide approvals, replay a run.

Shared by the CLI (`tt send --direct`, `tt replay`) and the HTTP API; nothing here prints.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tutti.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from tutti.direct.approvals import Approval
    from tutti.direct.messages import StreamDelta
    from tutti.direct.policy import Approver
    from tutti.workspace import Workspace


def new_run_id() -> str:
    """`run_{YYYYmmdd-HHMMSS}_{8 hex}` — the original's API-direct run id format."""
    return f"run_{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}_{secrets.token_hex(4)}"


@dataclass
class DirectResult:
    run_id: str
    agent: str
    status: str
    stop_reason: str
    final_text: str
    root: str
    totals: dict[str, Any]
    error: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def send_direct(
    ws: Workspace,
    agent: str,
    prompt: str,
    *,
    approver: Approver | None = None,
    on_delta: Callable[[StreamDelta], None] | None = None,
    cancel: threading.Event | None = None,
    run_id: str | None = None,
    max_turns: int | None = None,
    on_tool: Callable[..., None] | None = None,
) -> DirectResult:
    """Run `prompt` through the agent's API-direct loop as one run of kind `direct`.

    `approver` answers `requires_approval` questions (the CLI passes a tty prompt); without
    one, approvals are recorded in the store and wait for `decide_approval`.
    """
    from tutti.direct.session import LoopOptions, build_loop

    if not prompt.strip():
        raise UsageError("prompt is empty", hint='tt send AGENT --direct "what to do"')
    from tutti.budget import check as budget_check

    warnings = budget_check(ws, "send", agent).warnings  # BudgetError when enforced
    run_id = run_id or new_run_id()
    cancel = cancel or threading.Event()
    loop = build_loop(
        ws,
        agent,
        LoopOptions(
            run_id=run_id,
            approver=approver,
            cancel=cancel,
            on_delta=on_delta,
            on_tool=on_tool,
            max_turns=max_turns,
        ),
    )
    result = _run_loop(ws, loop, prompt, run_id, cancel)
    return DirectResult(
        run_id,
        agent,
        result.status,
        result.stop_reason,
        result.final_text,
        str(loop.toolbox.root),
        result.totals.to_dict(),
        result.error,
        warnings,
    )


def _run_loop(ws: Workspace, loop: Any, prompt: str, run_id: str, cancel: threading.Event) -> Any:
    """Run the loop on `prompt`, honouring `tt runs cancel` from another process and ^C."""
    from tutti.direct.messages import Message

    done = threading.Event()
    watcher = threading.Thread(target=_watch_cancel_marker, args=(ws, run_id, cancel, done), daemon=True)
    try:
        loop.start(prompt, origin="send")
        watcher.start()
        try:
            return loop.run([Message.user(prompt)])
        except KeyboardInterrupt:
            # ^C: close the run's record as cancelled before giving the terminal back.
            cancel.set()
            from tutti.direct.loop import LoopResult

            loop.finish(LoopResult(run_id, "stopped", "cancelled", "", loop.recorder.totals))
            raise
    finally:
        done.set()
        loop.chain.close()


def _watch_cancel_marker(ws: Workspace, run_id: str, cancel: threading.Event, done: threading.Event) -> None:
    """`tt runs cancel RUN_ID` from another process drops a marker file; honour it."""
    try:
        from tutti.workflows.engine import cancel_marker

        marker = cancel_marker(ws, run_id)
    except ImportError:
        marker = ws.state_dir / "workflow-cancel" / run_id
    while not done.wait(0.5):
        if marker.exists():
            cancel.set()
            return


def decide_approval(
    ws: Workspace, run_id: str, approval_id: str, approve: bool, *, by: str = "api", reason: str | None = None
) -> Approval:
    """Approve or deny a pending tool call of a direct run (any process may call this)."""
    from tutti.direct import approvals
    from tutti.ops import approvals as ops_approvals

    if ops_approvals.on_temporal(ws, run_id):  # through the run's workflow (distributed.approvals)
        approvals.get(ws.store, run_id, approval_id)  # the id must belong to that run
        return ops_approvals.decide(ws, approval_id, approve, by=by, reason=reason)
    return approvals.decide(ws.store, run_id, approval_id, approve, by=by, reason=reason)


def pending_approvals(ws: Workspace, run_id: str | None = None) -> list[Approval]:
    from tutti.direct import approvals

    return approvals.pending(ws.store, run_id)


# -- replay -------------------------------------------------------------------------------------
@dataclass
class ReplayEntry:
    seq: int
    ts: str
    kind: str  # start | model | decision | tool | retry | failover | approval | context | end
    turn: int | None
    title: str
    detail: str = ""
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Replay:
    run_id: str
    run: dict[str, Any] | None
    entries: list[ReplayEntry]
    totals: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "run": self.run,
            "totals": self.totals,
            "entries": [e.to_dict() for e in self.entries],
        }


def _money(x: Any) -> str:
    return f"${float(x or 0):.6f}"


def _entry(ev: Any) -> ReplayEntry | None:
    """One replay line for a `direct.*` event (None for kinds the replay does not show)."""
    kind = ev.kind
    if kind in ("direct.approval.requested", "direct.approval.decided"):
        kind = "direct.approval"
    elif kind in ("direct.run.completed", "direct.run.failed"):
        kind = "direct.run.ended"
    render = _RENDER.get(kind)
    if render is None:
        return None
    entry_kind, title, detail = render(ev, ev.data)
    base = {"seq": ev.seq, "ts": ev.ts, "turn": ev.data.get("turn"), "step": ev.step, "data": ev.data}
    return ReplayEntry(kind=entry_kind, title=title, **({"detail": detail} if detail is not None else {}), **base)


def _r_started(ev: Any, d: dict) -> tuple[str, str, str | None]:
    return ("start", f"run started: agent {ev.agent} via {d.get('profile') or d.get('provider')} "
            f"model {d.get('model')} (max {d.get('max_turns')} turns)", d.get("prompt", ""))


def _r_model(ev: Any, d: dict) -> tuple[str, str, str | None]:
    cached = f" (+{d.get('cached_tokens')} cached)" if d.get("cached_tokens") else ""
    calls = ", ".join(c.get("name", "?") for c in d.get("tool_calls") or [])
    title = (
        f"model {d.get('profile') or d.get('provider')}/{d.get('model')}: "
        f"in {d.get('input_tokens')}{cached} "
        f"out {d.get('output_tokens')} tok, {_money(d.get('cost_usd'))}, {d.get('latency_ms')} ms, "
        f"stop {d.get('stop_reason')}" + (f" → {calls}" if calls else "")
    )
    return "model", title, d.get("text", "")


def _r_decision(ev: Any, d: dict) -> tuple[str, str, str | None]:
    verdict = "allow" if d.get("decision") == "allow" else "DENY"
    detail = "" if d.get("reason") == "allowed" else d.get("reason", "")
    return "decision", f"policy {verdict} {d.get('tool')} [{d.get('rule')}]", detail


def _r_tool(ev: Any, d: dict) -> tuple[str, str, str | None]:
    args = json.dumps(d.get("args") or {}, ensure_ascii=False)
    state = "denied" if d.get("denied") else ("error" if d.get("is_error") else "ok")
    return "tool", f"tool {d.get('tool')} {args[:200]} → {state}", d.get("result", "")


def _r_retry(ev: Any, d: dict) -> tuple[str, str, str | None]:
    return ("retry", f"retry {d.get('profile') or d.get('provider')} after "
            f"{d.get('reason')} (HTTP {d.get('status')}), waited {d.get('delay_secs')}s", None)


def _r_failover(ev: Any, d: dict) -> tuple[str, str, str | None]:
    return "failover", f"failover {d.get('from_profile')} → {d.get('to_profile')} ({d.get('reason')})", d.get("error", "")


def _r_approval(ev: Any, d: dict) -> tuple[str, str, str | None]:
    what = "requested" if ev.kind.endswith("requested") else d.get("decision")
    return ("approval", f"approval {d.get('approval_id')} {what}"
            + (f" for {d.get('tool')}" if d.get("tool") else ""), None)


def _r_context(ev: Any, d: dict) -> tuple[str, str, str | None]:
    return ("context", f"context compacted: {d.get('chars_elided')} chars of old tool "
            f"output elided ({d.get('chars_now')} left)", None)


def _r_end(ev: Any, d: dict) -> tuple[str, str, str | None]:
    t = d.get("totals") or {}
    title = (
        f"run {d.get('status')} ({d.get('stop_reason')}): {t.get('model_calls', 0)} model calls, "
        f"{t.get('tool_calls', 0)} tool calls ({t.get('denied_calls', 0)} denied), "
        f"in {t.get('input_tokens', 0)} "
        f"out {t.get('output_tokens', 0)} tok, {_money(t.get('cost_usd'))}"
    )
    return "end", title, d.get("final_text", "") or ((d.get("error") or {}).get("message") or "")


_RENDER = {
    "direct.run.started": _r_started, "direct.model_call": _r_model, "direct.policy_decision": _r_decision,
    "direct.tool_call": _r_tool, "direct.provider_retry": _r_retry, "direct.provider_failover": _r_failover,
    "direct.approval": _r_approval, "direct.context_compacted": _r_context, "direct.run.ended": _r_end,
}


def replay(ws: Workspace, run_id: str) -> Replay:
    """A past run, step by step, from the store's events alone."""
    entries: list[ReplayEntry] = []
    after = 0
    while True:
        batch = ws.store.read_events(after, run_id=run_id, kind_prefix="direct.", limit=1000)
        for ev in batch:
            entry = _entry(ev)
            if entry is not None:
                entries.append(entry)
        if len(batch) < 1000:
            break
        after = batch[-1].seq
    rows = ws.store.query("SELECT * FROM runs WHERE run_id = ?", (run_id,))
    run = dict(zip(rows[0].keys(), tuple(rows[0]))) if rows else None
    if not entries:
        if run is None:
            raise NotFoundError(
                f"run '{run_id}' not found in {ws.store.path}", hint="list runs with `tt runs list`"
            )
        raise NotFoundError(
            f"run '{run_id}' has no API-direct events to replay",
            hint="tt replay works for `tt send --direct` and `tt run --direct` runs",
        )
    if run and isinstance(run.get("params"), str):
        try:
            run["params"] = json.loads(run["params"])
        except ValueError:
            pass
    if run and isinstance(run.get("result"), str):
        try:
            run["result"] = json.loads(run["result"])
        except ValueError:
            pass
    models = [e.data for e in entries if e.kind == "model"]
    totals = {
        "model_calls": len(models),
        "tool_calls": sum(1 for e in entries if e.kind == "tool"),
        "denied_calls": sum(1 for e in entries if e.kind == "decision" and e.data.get("decision") != "allow"),
        "input_tokens": sum(int(m.get("input_tokens") or 0) for m in models),
        "cached_tokens": sum(int(m.get("cached_tokens") or 0) for m in models),
        "output_tokens": sum(int(m.get("output_tokens") or 0) for m in models),
        "cost_usd": round(sum(float(m.get("cost_usd") or 0) for m in models), 6),
    }
    return Replay(run_id, run, entries, totals)
