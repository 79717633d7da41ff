"""The script that drives the fake agent: which prompt does what.

A TOML (or JSON) file:

    work_secs = 1.0          # default time spent "working" per prompt
    reply = "Done."          # default answer

    [[rule]]                 # first rule whose `match` regex is found in the prompt wins
    match = "create (\\S+)"
    work_secs = 0.5
    reply = "Created {1}."   # {prompt}, {n} (prompt number) and {0}..{9} (match groups)
    commit = "add {1}"       # `git add -A && git commit -m …` in the agent's cwd
    fail = "dialog"          # auth | rate_limit | provider_down | crash | dialog
    exit_code = 3            # for fail = "crash"
    once = true              # the rule is used at most once (e.g. fail first, then succeed)
    [[rule.write]]
    path = "{1}"
    content = "hello\\n"
    append = false

Script errors are reported as one line naming the file and the key, never a traceback.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tutti.errors import ConfigError

FAILS = ("auth", "rate_limit", "provider_down", "crash", "dialog")
DEFAULT_WORK_SECS = 1.0
DEFAULT_REPLY = "Done."


@dataclass
class FileWrite:
    path: str
    content: str = ""
    append: bool = False


@dataclass
class Action:
    """What the agent does for one prompt, with placeholders already substituted."""

    work_secs: float = DEFAULT_WORK_SECS
    reply: str = DEFAULT_REPLY
    writes: list[FileWrite] = field(default_factory=list)
    commit: str | None = None
    fail: str | None = None
    exit_code: int = 1


@dataclass
class ScriptRule:
    match: re.Pattern[str]
    work_secs: float | None = None
    reply: str | None = None
    writes: list[FileWrite] = field(default_factory=list)
    commit: str | None = None
    fail: str | None = None
    exit_code: int = 1
    once: bool = False
    used: bool = False


@dataclass
class Script:
    rules: list[ScriptRule] = field(default_factory=list)
    work_secs: float = DEFAULT_WORK_SECS
    reply: str = DEFAULT_REPLY
    look: str | None = None
    usage: dict | bool = True  # the usage log (fake_usage): True = derived from lengths, False = none, dict = fixed

    def action_for(self, prompt: str, n: int) -> Action:
        for rule in self.rules:
            if rule.once and rule.used:
                continue
            m = rule.match.search(prompt)
            if not m:
                continue
            rule.used = True
            sub = _substituter(prompt, n, m)
            return Action(
                work_secs=self.work_secs if rule.work_secs is None else rule.work_secs,
                reply=sub(self.reply if rule.reply is None else rule.reply),
                writes=[FileWrite(sub(w.path), sub(w.content), w.append) for w in rule.writes],
                commit=sub(rule.commit) if rule.commit else None,
                fail=rule.fail,
                exit_code=rule.exit_code,
            )
        sub = _substituter(prompt, n, None)
        return Action(work_secs=self.work_secs, reply=sub(self.reply))


def _usage(value, where: str) -> dict | bool:
    """`usage = false` (no log), `usage = true` (default: tokens from lengths), or a table of
    fixed per-turn numbers: `[usage] input_tokens = 1200, output_tokens = 300, model = "..."`."""
    if isinstance(value, bool):
        return value
    known = {"input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens", "model"}
    if not isinstance(value, dict) or set(value) - known:
        raise ConfigError(f"{where}: usage must be true, false or a table of {', '.join(sorted(known))}",
                          hint="e.g. usage = false, or [usage] input_tokens = 1200")
    for key, v in value.items():
        if key != "model" and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise ConfigError(f"{where}: usage.{key} must be a non-negative integer", hint=f"e.g. {key} = 100")
    return dict(value)


def _substituter(prompt: str, n: int, m: re.Match[str] | None):
    def one(tok: re.Match[str]) -> str:
        key = tok.group(1)
        if key == "prompt":
            return prompt
        if key == "n":
            return str(n)
        if m is not None and int(key) <= (m.re.groups or 0):
            return m.group(int(key)) or ""
        return tok.group(0)

    return lambda text: re.sub(r"\{(prompt|n|\d)\}", one, text)


def load_script(path: Path) -> Script:
    where = str(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"fake agent script {where} cannot be read: {exc.strerror}",
                          hint="check the --script path or TUTTI_FAKE_SCRIPT") from exc
    try:
        data = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"fake agent script {where} is not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {exc}",
                          hint="fix the syntax of the script file") from exc
    return parse_script(data, where)


def parse_script(data: dict, where: str = "<script>") -> Script:
    def num(value, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{where}: {key} must be a non-negative number", hint=f"e.g. {key} = 1.5")
        return float(value)

    script = Script(
        work_secs=num(data.get("work_secs", DEFAULT_WORK_SECS), "work_secs"),
        reply=str(data.get("reply", DEFAULT_REPLY)),
        look=data.get("look"),
        usage=_usage(data.get("usage", True), where),
    )
    for i, item in enumerate(data.get("rule", data.get("rules", [])) or []):
        key = f"rule[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: {key} must be a table", hint="use [[rule]] tables")
        try:
            match = re.compile(str(item.get("match", "")), re.IGNORECASE | re.DOTALL)
        except re.error as exc:
            raise ConfigError(f"{where}: {key}.match is not a valid regex: {exc}",
                              hint="fix the pattern (Python `re` syntax)") from exc
        fail = item.get("fail")
        if fail is not None and fail not in FAILS:
            raise ConfigError(f"{where}: {key}.fail = {fail!r} is not supported",
                              hint=f"use one of: {', '.join(FAILS)}")
        writes = []
        for j, w in enumerate(item.get("write", []) or []):
            if not isinstance(w, dict) or not w.get("path"):
                raise ConfigError(f"{where}: {key}.write[{j}] needs a path", hint='path = "file.txt"')
            writes.append(FileWrite(str(w["path"]), str(w.get("content", "")), bool(w.get("append", False))))
        script.rules.append(ScriptRule(
            match=match,
            work_secs=num(item["work_secs"], f"{key}.work_secs") if "work_secs" in item else None,
            reply=str(item["reply"]) if "reply" in item else None,
            writes=writes,
            commit=str(item["commit"]) if item.get("commit") else None,
            fail=fail,
            exit_code=int(item.get("exit_code", 1)),
            once=bool(item.get("once", False)),
        ))
    return script
