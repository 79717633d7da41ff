"""A cache of what read-only commands need from a tutti.toml that already validated.

Building the config models costs far more than the commands that only *read* the config
(`tt run --list`): importing pydantic and building every model class. So each successful
full load (`config.load.load_config`) writes `.tutti/cache/config.json`: a small summary of
the file (workspace name, workflows, agents, the load's warnings) under a key made of the
file's content hash, the tool version, the stat of the modules that define the config's shape
and rules (so an editable install that changes them invalidates it too) and the stat of the
global config. A reader recomputes the key from the file as it is now and uses the summary
only on an exact match; anything else (no cache, an edit, another version, a broken cache
file) falls back to the full load, which reports errors as usual and rewrites the cache.
Only a file that validated is ever summarised. Next to the summary sits the whole validated
config as the model dumps it (`config.view.dump`), from which `cached_config` gives a
read-only view with the same fields (`tt status` reads agents, runtimes, engine, ... from it).
Import-free on purpose (no pydantic).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutti.config.models import TuttiConfig

FORMAT = 2
CACHE_FILE = Path(".tutti") / "cache" / "config.json"
CONFIG_FILENAME = "tutti.toml"
_SHAPE_MODULES = ("models.py", "validate.py", "load.py", "workflow_rules.py", "unknown_keys.py",
                  "step_defaults.py", "cache.py", "view.py")


def cache_key(raw: bytes) -> str:
    from tutti import __version__
    from tutti.paths import global_config_path

    here = Path(__file__).parent
    h = _sha256(raw)
    h.update(f"\0{FORMAT}\0{__version__}".encode())
    for name in _SHAPE_MODULES:
        h.update(_stamp(here / name))
    h.update(_stamp(global_config_path()))
    return h.hexdigest()


def _sha256(data: bytes) -> Any:
    try:  # the builtin module: hashlib would load OpenSSL first (~2 ms of a `tt run --list`)
        from _sha256 import sha256  # Python 3.11
    except ImportError:
        try:
            from _sha2 import sha256  # Python 3.12+
        except ImportError:
            from hashlib import sha256
    return sha256(data)


def _stamp(path: Path) -> bytes:
    try:
        st = os.stat(path)
    except OSError:
        return b"\0-"
    return f"\0{st.st_mtime_ns}:{st.st_size}".encode()


def _cached(root: Path) -> dict[str, Any] | None:
    """The cache file's content if its key matches `root/tutti.toml` as it is now, else None."""
    try:
        raw = (root / CONFIG_FILENAME).read_bytes()
        cached = json.loads((root / CACHE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(cached, dict) or cached.get("key") != cache_key(raw):
        return None
    return cached


def cached_summary(root: Path) -> dict[str, Any] | None:
    """The summary of `root/tutti.toml` if the cache matches the file as it is now, else None."""
    cached = _cached(root)
    summary = cached.get("summary") if cached is not None else None
    return summary if isinstance(summary, dict) else None


def cached_config(root: Path) -> tuple[Any, list[str]] | None:
    """(read-only view of the validated config, the load's warnings) of `root/tutti.toml` if
    the cache matches the file as it is now, else None (also for a cache the view cannot read)."""
    cached = _cached(root)
    summary = cached.get("summary") if cached is not None else None
    if cached is None or not isinstance(summary, dict) or not isinstance(summary.get("warnings"), list):
        return None
    from tutti.config.view import ConfigView, TuttiConfigMethods, load

    try:
        config = load(cached.get("config"))
    except (ValueError, TypeError, AttributeError):
        return None
    if not (isinstance(config, ConfigView) and isinstance(config, TuttiConfigMethods)):
        return None
    return config, [str(w) for w in summary["warnings"]]


def store_summary(path: Path, raw: bytes, config: TuttiConfig, warnings: list[str]) -> None:
    """After a successful full load of `path`: record its summary (best effort; only in a
    workspace whose `.tutti/` already exists — a read never creates it)."""
    if path.name != CONFIG_FILENAME or not (path.parent / ".tutti").is_dir():
        return
    target = path.parent / CACHE_FILE
    try:
        from tutti.config.view import dump

        data = {"key": cache_key(raw), "summary": summarize(config, warnings), "config": dump(config)}
        text = json.dumps(data, separators=(",", ":")) + "\n"
    except (ValueError, TypeError):
        return
    try:
        if target.read_text(encoding="utf-8") == text and target.stat().st_mode & 0o077 == 0:
            return  # already current: no write on every command (a stale, broken or readable one is rewritten)
    except (OSError, ValueError):
        pass
    try:
        from tutti.fsutil import write_text_atomic

        write_text_atomic(target, text, mode=0o600, durable=False)  # the dump holds [agent.env] values too
    except OSError:
        pass  # a cache is an optimisation: a read-only .tutti/ must not fail the command


def summarize(config: TuttiConfig, warnings: list[str]) -> dict[str, Any]:
    return {
        "workspace": config.workspace.name,
        "warnings": list(warnings),
        "workflows": [{"name": w.name, "description": w.description, "steps": len(w.steps), "schedule": w.schedule}
                      for w in config.workflows],
        "agents": [{"name": a.name, "runtime": config.resolved_runtime(a)} for a in config.agents],
    }
