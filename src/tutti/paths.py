"""Where Tutti keeps its files: the global config dir and per-workspace state.

`TUTTI_HOME` relocates everything global (config, registry, serve token) — tests and
sandboxes set it so they never touch the user's real files.
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_FILENAME = "tutti.toml"
STATE_DIRNAME = ".tutti"


def global_config_dir() -> Path:
    home = os.environ.get("TUTTI_HOME")
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg).expanduser() / "tutti"
    return Path.home() / ".config" / "tutti"


def global_config_path() -> Path:
    return global_config_dir() / "config.toml"


def state_dir(root: Path) -> Path:
    return root / STATE_DIRNAME / "state"


def find_workspace_root(start: Path | None = None) -> Path | None:
    """Walk up from `start` to the filesystem root looking for tutti.toml."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_FILENAME).is_file():
            return candidate
    return None


def inside(root: Path, candidate: Path) -> bool:
    """True when `candidate` (after resolving symlinks) stays inside `root`."""
    try:
        candidate.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False
