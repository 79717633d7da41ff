"""What every validation rule module shares: `Problem` (key path, message, hint) and small
helpers. `validate` and the per-table rule modules (`workflow_rules`, `intake_rules`,
`loop_rules`) import from here, never from each other, so the rules stay one-way:
`validate` → rule modules → `problems`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class Problem:
    key_path: str
    message: str  # without the "invalid config: " prefix
    hint: str


def relative_path_problem(value: str) -> str | None:
    """Why a config path would leave the workspace, or None when it stays inside."""
    p = PurePosixPath(value.strip())
    if p.is_absolute() or value.strip().startswith("~"):
        return "absolute"
    if ".." in p.parts:
        return "parent"
    return None


def has_cycle(graph: dict) -> bool:
    """Kahn's algorithm over `node -> [prerequisites]`."""
    indegree = {node: 0 for node in graph}
    dependents: dict = {node: [] for node in graph}
    for node, prereqs in graph.items():
        for p in prereqs:
            if p in graph:
                indegree[node] += 1
                dependents[p].append(node)
    ready = [n for n, d in indegree.items() if d == 0]
    visited = 0
    while ready:
        node = ready.pop()
        visited += 1
        for nxt in dependents[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    return visited != len(graph)


def listing(names: set[str]) -> str:
    shown = sorted(n for n in names if n)
    return ", ".join(shown) if shown else "(none declared)"
