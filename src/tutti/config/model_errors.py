"""Turn pydantic `ValidationError`s (wrong types, missing keys, bad enum values, unknown step
types) into one-line `ConfigIssue`s with a human key path and a fix."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tutti.config import keypath
from tutti.config.issues import ConfigIssue

if TYPE_CHECKING:
    from pydantic import ValidationError

_EXPECTED = {
    "string": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "list": "an array",
    "dict": "a table",
    "model": "a table",
    "model_attributes": "a table",
}


def issues_from_validation_error(exc: ValidationError, data: Any, file: str) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    seen: set[str] = set()
    for err in exc.errors(include_url=False):
        issue = _issue(err, data, file)
        if issue.render() not in seen:  # unions can report one mistake several times
            seen.add(issue.render())
            issues.append(issue)
    return issues


def _issue(err: dict, data: Any, file: str) -> ConfigIssue:
    loc = tuple(err.get("loc", ()))
    path = keypath.from_loc(loc, data)
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    key = str(next((p for p in reversed(loc) if isinstance(p, str) and p not in keypath.STEP_TYPES), "value"))
    got = _show(err.get("input"))

    if kind == "missing":
        if len(loc) > 1 or key != "workspace":
            return ConfigIssue(file, path, f"invalid config: {path}: missing required key '{key}'",
                               f"add `{key} = ...` there (`tt schema` lists every key)")
        return ConfigIssue(file, path, f"invalid config: {path}: missing [workspace] table",
                           'start the file with `[workspace]` and `name = "..."`, or run `tt init`')
    if kind == "union_tag_invalid":
        tags = ctx.get("expected_tags", "")
        return ConfigIssue(file, path, f"invalid config: {path}: unknown step type {_show(ctx.get('tag'))}",
                           f"set type to one of {tags}")
    if kind == "union_tag_not_found":
        return ConfigIssue(file, path, f"invalid config: {path}: step has no 'type'",
                           'add `type = "command"` (or prompt, ensure_running, workflow, review, land)')
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        return ConfigIssue(file, path, f"invalid config: {path}: must be {expected}, got {got}",
                           f"set {key} to {expected}")
    if kind.endswith(("_type", "_parsing")) or kind in ("int_from_float", "model_attributes_type"):
        base = kind.removesuffix("_type").removesuffix("_parsing")
        expected = _EXPECTED.get(base) or ("an integer" if base == "int_from_float" else base.replace("_", " "))
        return ConfigIssue(file, path, f"invalid config: {path}: expected {expected}, got {got}",
                           f"write {key} as {expected} (`tt schema` shows every key's type)")
    msg = str(err.get("msg", "invalid value")).rstrip(".")
    return ConfigIssue(file, path, f"invalid config: {path}: {msg[:1].lower() + msg[1:]} (got {got})",
                       "fix the value (`tt schema` shows what each key accepts)")


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"
