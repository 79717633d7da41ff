"""Human key paths into a config document, e.g. `workflow 'verify' → step 2 (command) → subdir`.

Both kinds of problem speak the same language: pydantic errors arrive as `loc` tuples
(`('workflow', 0, 'step', 1, 'command', 'subdir')`) and cross-field rules build paths from the
model. Named array entries (agents, workflows, runtimes, …) are shown by name when the
document gives them one; positions count from 1, like step numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

ARROW = " → "

# [[array-of-tables]] whose entries are best identified by their `name`
NAMED_TABLES = frozenset({"agent", "workflow", "runtime", "tool_pack", "profile", "remote", "registered_workspace"})
STEP_TYPES = frozenset({"prompt", "command", "ensure_running", "workflow", "review", "land"})


def join(*parts: str) -> str:
    return ARROW.join(p for p in parts if p)


def agent_path(name: str, key: str = "") -> str:
    return join(f"agent '{name}'", key)


def workflow_path(name: str, key: str = "") -> str:
    return join(f"workflow '{name}'", key)


def step_path(workflow: str, index: int, step_type: str, key: str = "") -> str:
    """`index` is 1-based, as in every message about steps."""
    return join(f"workflow '{workflow}'", f"step {index} ({step_type})", key)


def from_loc(loc: Sequence[Any], data: Any) -> str:
    """Translate a pydantic `loc` tuple into a key path, naming entries from the raw document."""
    parts: list[str] = []
    node: Any = data
    parent_key: str | None = None
    i = 0
    while i < len(loc):
        item = loc[i]
        if isinstance(item, int):
            entry = node[item] if isinstance(node, list) and 0 <= item < len(node) else None
            label = _entry_label(parent_key, item, entry)
            if parts and parent_key is not None and parts[-1] == parent_key:
                parts[-1] = label
            else:
                parts.append(label)
            if parent_key == "step" and i + 1 < len(loc) and loc[i + 1] in STEP_TYPES:
                i += 1  # pydantic repeats the discriminator tag: already shown in the label
            node = entry
            parent_key = None
        else:
            key = str(item)
            parts.append(key)
            node = node.get(key) if isinstance(node, dict) else None
            parent_key = key
        i += 1
    return ARROW.join(parts) if parts else "(document root)"


def _entry_label(table: str | None, index: int, entry: Any) -> str:
    name = entry.get("name") if isinstance(entry, dict) else None
    if table == "step":
        step_type = entry.get("type") if isinstance(entry, dict) else None
        kind = f" ({step_type})" if isinstance(step_type, str) and step_type else ""
        return f"step {index + 1}{kind}"
    if table in NAMED_TABLES and isinstance(name, str) and name.strip():
        return f"{table} '{name}'"
    return f"{table or ''}[{index + 1}]"
