"""Unknown keys are warnings, not errors (the original silently ignored them).

The models accept extra keys so an older or newer tutti.toml still loads; this module walks
`model_extra` through the whole model tree and suggests the closest known key.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel

from tutti.config import keypath
from tutti.config.issues import one_line

# Tables whose extra keys are data, not typos: [workspace.env] holds env vars.
_OPEN_TABLES = ("WorkspaceEnv",)


def known_keys(model: type[BaseModel]) -> list[str]:
    """The keys a table accepts, as written in TOML (aliases first)."""
    keys = []
    for name, field in model.model_fields.items():
        keys.append(field.alias or name)
    return keys


def unknown_key_warnings(root: BaseModel, file: str) -> list[str]:
    warnings: list[str] = []
    _walk(root, [], warnings, file)
    return warnings


def _walk(model: BaseModel, path: list[str], out: list[str], file: str) -> None:
    if type(model).__name__ not in _OPEN_TABLES:
        choices = known_keys(type(model))
        for key in model.model_extra or {}:
            where = keypath.join(*path, key)
            close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
            suggestion = f" — did you mean '{close[0]}'?" if close else " (ignored)"
            out.append(one_line(f"{file}: unknown key '{where}'{suggestion}"))
    for name, field in type(model).model_fields.items():
        value = getattr(model, name, None)
        key = field.alias or name
        for label, child in _children(key, value):
            _walk(child, [*path, label] if label else path, out, file)


def _children(key: str, value: Any):
    if isinstance(value, BaseModel):
        yield key, value
    elif isinstance(value, list):
        for i, item in enumerate(value, start=1):
            if isinstance(item, BaseModel):
                yield _label(key, i, item), item
    elif isinstance(value, dict):
        for k, item in value.items():
            if isinstance(item, BaseModel):
                yield keypath.join(key, str(k)), item


def _label(key: str, index: int, item: BaseModel) -> str:
    step_type = getattr(item, "type", None)
    if key == "step" and isinstance(step_type, str):
        return f"step {index} ({step_type})"
    name = getattr(item, "name", None)
    if key in keypath.NAMED_TABLES and isinstance(name, str) and name.strip():
        return f"{key} '{name}'"
    return f"{key}[{index}]"
