"""Module-level import cycles of a package (strongly connected components of its import graph,
TYPE_CHECKING-only imports excluded), via grimp — the graph import-linter checks.

A submodule importing a name from its own parent package (`tutti.cli.app` reading
`tutti.cli.COMMANDS`) is not counted: Python always initialises the parent first, so that edge
adds no ordering hazard of its own (a parent that imports such a child at module level fails
with an ImportError on first import, which any test catches).

`python -m tests.architecture.cycles tutti` prints one line per cycle and exits 1 if any."""

from __future__ import annotations

import sys


def module_cycles(package: str) -> list[list[str]]:
    import grimp

    graph = grimp.build_graph(package, exclude_type_checking_imports=True)

    def imports(module: str) -> list[str]:
        return sorted(m for m in graph.find_modules_directly_imported_by(module)
                      if not module.startswith(m + "."))  # not its own ancestor package
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(root: str) -> None:  # Tarjan, iterative (deep graphs must not hit the recursion limit)
        work = [(root, iter(imports(root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(imports(child))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return sorted(found)


if __name__ == "__main__":
    cycles = module_cycles(sys.argv[1] if len(sys.argv) > 1 else "tutti")
    for cycle in cycles:
        print(f"cycle ({len(cycle)} modules): {' <-> '.join(cycle)}")
    sys.exit(1 if cycles else 0)
