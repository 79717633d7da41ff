"""Stand-ins for the original repository's automation scripts (the user's own scripts, which the
original's SDLC workflows call): just enough to turn the workflow's files into the next files."""

import json
import subprocess
import sys
from pathlib import Path


def find(rel: str) -> Path:
    """`rel` here, else at the workspace root (the worktree's main checkout)."""
    here = Path(rel)
    return here if here.exists() else root() / rel


def root() -> Path:
    common = subprocess.run(["git", "rev-parse", "--git-common-dir"], capture_output=True, text=True).stdout.strip()
    return Path(common).resolve().parent


def write(rel: str, data) -> None:
    """Here and, for a relative path, at the workspace root too (where later steps read it)."""
    text = json.dumps(data) if not isinstance(data, str) else data
    targets = [Path(rel)] + ([root() / rel] if not Path(rel).is_absolute() else [])
    for path in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def issue(rel: str) -> dict:
    return json.loads(find(rel).read_text())


if __name__ == "__main__":
    sys.exit(0)
