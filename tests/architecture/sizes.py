"""Functions over ~60 lines and modules over ~600 lines (STYLE.md), measured from the AST.

`python -m tests.architecture.sizes [src/tutti] [--functions N] [--modules N]` prints one line
per offender, largest first: `lines  path:line  name`. A function's size is its `def` line
through its last line (decorators excluded, docstring included); a module's is its line count.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path


def long_functions(root: Path, limit: int = 60) -> list[tuple[int, str, int, str]]:
    out = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node, qual in _functions(tree, ""):
            size = node.end_lineno - node.lineno + 1
            if size > limit:
                out.append((size, str(path), node.lineno, qual))
    return sorted(out, reverse=True)


def long_modules(root: Path, limit: int = 600) -> list[tuple[int, str]]:
    sizes = ((len(p.read_text(encoding="utf-8").splitlines()), str(p)) for p in sorted(root.rglob("*.py")))
    return sorted((s for s in sizes if s[0] > limit), reverse=True)


def _functions(node: ast.AST, prefix: str):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            qual = f"{prefix}{child.name}"
            yield child, qual
            yield from _functions(child, qual + ".")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{prefix}{child.name}.")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", nargs="?", default="src/tutti")
    parser.add_argument("--functions", type=int, default=60)
    parser.add_argument("--modules", type=int, default=600)
    args = parser.parse_args()
    root = Path(args.root)
    funcs, mods = long_functions(root, args.functions), long_modules(root, args.modules)
    print(f"functions over {args.functions} lines: {len(funcs)}")
    for size, path, line, name in funcs:
        print(f"{size:5d}  {path}:{line}  {name}")
    print(f"modules over {args.modules} lines: {len(mods)}")
    for size, path in mods:
        print(f"{size:5d}  {path}")


if __name__ == "__main__":
    main()
