"""Codex rollout logs: `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl`.

`token_count` events carry the *cumulative* `total_token_usage` of the session; each record is
the delta from the previous one (a repeated total gives no record). Codex's `input_tokens`
already includes `cached_input_tokens` and its `output_tokens` already includes
`reasoning_output_tokens` (total = input + output), so the cached part is moved out of input
rather than added on top.
"""

from __future__ import annotations

from typing import Any

from tutti.usage.records import UsageRecord, as_int, json_objects

RUNTIME = "codex"
_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")


def parse_lines(lines: list[str], state: dict[str, Any]) -> list[UsageRecord]:
    """Records from complete lines. `state` carries the session's cwd, model, id and the last
    cumulative totals between incremental reads."""
    out: list[UsageRecord] = []
    for entry in json_objects(lines):
        kind = entry.get("type")
        payload = entry.get("payload") or {}
        if kind == "session_meta":
            state["cwd"] = payload.get("cwd")
            state["session_id"] = payload.get("id") or payload.get("session_id")
        elif kind == "turn_context":
            if payload.get("model"):
                state["model"] = payload["model"]
        elif kind == "event_msg" and payload.get("type") == "token_count":
            rec = _delta(entry, payload, state)
            if rec is not None:
                out.append(rec)
    return out


def _delta(entry: dict, payload: dict, state: dict[str, Any]) -> UsageRecord | None:
    info = payload.get("info") or {}
    total = info.get("total_token_usage")
    if not isinstance(total, dict):
        return None
    now = {f: as_int(total.get(f)) for f in _FIELDS}
    prev = state.get("last_total") or {f: 0 for f in _FIELDS}
    if any(now[f] < prev.get(f, 0) for f in _FIELDS):
        prev = {f: 0 for f in _FIELDS}  # counter reset (a new thread in the same file)
    delta = {f: now[f] - prev.get(f, 0) for f in _FIELDS}
    state["last_total"] = now
    state["seq"] = int(state.get("seq", 0)) + 1
    cached = min(delta["cached_input_tokens"], delta["input_tokens"])
    rec = UsageRecord(
        key=f"codex:{state.get('session_id') or '?'}:{state['seq']}",
        runtime=RUNTIME,
        ts=str(entry.get("timestamp") or ""),
        model=state.get("model"),
        session_id=state.get("session_id"),
        cwd=state.get("cwd"),
        input_tokens=delta["input_tokens"] - cached,
        cache_read_tokens=cached,
        output_tokens=delta["output_tokens"],
        reasoning_tokens=delta["reasoning_output_tokens"],
    )
    return None if rec.is_empty() else rec
