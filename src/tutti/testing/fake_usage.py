"""The fake agent's usage log, in the real CLI's own format, so rehearsals show real-looking tokens.

- claude look (and gemini/aider, which have no log of their own here): a Claude Code session log
  `<CLAUDE_CONFIG_DIR>/projects/<encoded cwd>/<session>.jsonl` — one `user` line per prompt and
  one `assistant` line per answer carrying `message.usage`;
- codex look: a Codex rollout `<CODEX_HOME>/sessions/YYYY/MM/DD/rollout-<ts>-<id>.jsonl` with
  `session_meta`, `turn_context` and cumulative `token_count` events.

Where: the runtime's variable when the session sets it, else the agent's isolated home
(`$TUTTI_WORKSPACE_ROOT/.tutti/homes/$TUTTI_AGENT`, the place `tutti.usage.scan` reads), else
nothing is written. Token counts are deterministic: ceil(chars / 4) of the prompt (input) and
of the reply (output), or the script's fixed `[usage]` numbers; `usage = false` turns it off.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_MODELS = {"codex": "gpt-5", "claude": "claude-sonnet-4-5"}


def tokens_for(text: str) -> int:
    return max(1, -(-len(text) // 4))


def turn_usage(setting: dict | bool, prompt: str, reply: str) -> dict[str, Any] | None:
    if setting is False:
        return None
    fixed = setting if isinstance(setting, dict) else {}
    return {
        "input_tokens": int(fixed.get("input_tokens", tokens_for(prompt))),
        "output_tokens": int(fixed.get("output_tokens", tokens_for(reply))),
        "cache_read_tokens": int(fixed.get("cache_read_tokens", 0)),
        "cache_creation_tokens": int(fixed.get("cache_creation_tokens", 0)),
        "model": str(fixed.get("model") or ""),
    }


def _agent_home(env: dict[str, str]) -> Path | None:
    root, agent = env.get("TUTTI_WORKSPACE_ROOT"), env.get("TUTTI_AGENT")
    return Path(root) / ".tutti" / "homes" / agent if root and agent else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _append(path: Path, lines: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


class UsageLog:
    """One agent process's session log; `turn()` appends one prompt/answer pair."""

    def __init__(self, look: str, cwd: Path, setting: dict | bool, env: dict[str, str] | None = None) -> None:
        self.look = "codex" if look == "codex" else "claude"
        self.cwd = cwd
        self.setting = setting
        self.session = str(uuid.uuid4())
        self.totals = {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0, "reasoning_output_tokens": 0}
        self.path = self._path(dict(os.environ if env is None else env)) if setting is not False else None
        self.started = False

    def _path(self, env: dict[str, str]) -> Path | None:
        home = _agent_home(env)
        if self.look == "codex":
            base = Path(env["CODEX_HOME"]) if env.get("CODEX_HOME") else (home / ".codex" if home else None)
            if base is None:
                return None
            day = datetime.now(UTC)
            stamp = day.strftime("%Y-%m-%dT%H-%M-%S")
            return base / "sessions" / day.strftime("%Y/%m/%d") / f"rollout-{stamp}-{self.session}.jsonl"
        base = Path(env["CLAUDE_CONFIG_DIR"]) if env.get("CLAUDE_CONFIG_DIR") else (home / ".claude" if home else None)
        if base is None:
            return None
        from tutti.usage.claude_code import encode_project_dir

        return base / "projects" / encode_project_dir(self.cwd) / f"{self.session}.jsonl"

    def turn(self, prompt: str, reply: str) -> None:
        usage = turn_usage(self.setting, prompt, reply)
        if usage is None or self.path is None:
            return
        model = usage["model"] or DEFAULT_MODELS[self.look]
        try:
            _append(self.path, self._codex(prompt, usage, model) if self.look == "codex"
                    else self._claude(prompt, reply, usage, model))
        except OSError:
            pass  # a log is garnish: never break the agent's answer over it

    def _claude(self, prompt: str, reply: str, u: dict[str, Any], model: str) -> list[dict[str, Any]]:
        ts, user_id = _now(), str(uuid.uuid4())
        common = {"sessionId": self.session, "cwd": str(self.cwd), "version": "2.1.0-fake", "timestamp": ts}
        return [
            {"type": "user", "uuid": user_id, "message": {"role": "user", "content": prompt}, **common},
            {"type": "assistant", "uuid": str(uuid.uuid4()), "parentUuid": user_id,
             "requestId": f"req_fake_{uuid.uuid4().hex[:20]}", **common,
             "message": {"id": f"msg_fake_{uuid.uuid4().hex[:20]}", "type": "message", "role": "assistant",
                         "model": model, "content": [{"type": "text", "text": reply}],
                         "usage": {"input_tokens": u["input_tokens"], "output_tokens": u["output_tokens"],
                                   "cache_creation_input_tokens": u["cache_creation_tokens"],
                                   "cache_read_input_tokens": u["cache_read_tokens"]}}},
        ]

    def _codex(self, prompt: str, u: dict[str, Any], model: str) -> list[dict[str, Any]]:
        ts = _now()
        lines: list[dict[str, Any]] = []
        if not self.started:
            self.started = True
            lines.append({"timestamp": ts, "type": "session_meta",
                          "payload": {"id": self.session, "cwd": str(self.cwd), "originator": "codex_cli_rs",
                                      "cli_version": "0.50.0-fake", "timestamp": ts}})
        lines.append({"timestamp": ts, "type": "turn_context", "payload": {"cwd": str(self.cwd), "model": model}})
        lines.append({"timestamp": ts, "type": "event_msg", "payload": {"type": "user_message", "message": prompt}})
        # Codex's input includes the cached part; totals are cumulative over the session.
        self.totals["input_tokens"] += u["input_tokens"] + u["cache_read_tokens"]
        self.totals["cached_input_tokens"] += u["cache_read_tokens"]
        self.totals["output_tokens"] += u["output_tokens"]
        total = dict(self.totals, total_tokens=self.totals["input_tokens"] + self.totals["output_tokens"])
        lines.append({"timestamp": ts, "type": "event_msg",
                      "payload": {"type": "token_count", "info": {"total_token_usage": total}}})
        return lines
