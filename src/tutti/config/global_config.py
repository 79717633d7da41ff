"""The global config (`config.toml` in `paths.global_config_dir()`): profiles, the workspace
registry, resilience, permissions, serve settings, remotes.

Edits go through tomlkit so the user's comments and layout survive (the original rewrote the
file and lost every comment), under an exclusive `flock` on `config.toml.lock` so concurrent
`tt init`s never lose a registry entry, and land with an atomic temp-file rename.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tutti import paths
from tutti.config.issues import ConfigIssue, display_path
from tutti.config.models import GlobalConfig, RegisteredWorkspace
from tutti.errors import ConfigError, ToolError
from tutti.fsutil import write_text_atomic

LOCK_TIMEOUT_SECS = 10.0

DEFAULT_GLOBAL_CONFIG = """\
# Tutti global configuration — shared by every workspace on this machine.
# Everything here is optional; uncomment what you need. `tt init` adds
# [[registered_workspace]] entries below and keeps these comments intact.

# [user]
# name = "Your Name"

# Profiles: which CLI account/plan an agent launches with (a workspace picks one
# with [workspace.auth] default_profile = "...").
# [[profile]]
# name = "claude-personal"
# provider = "anthropic"        # anthropic | openai | openclaw | ...
# command = "claude"            # binary or path to launch
# max_concurrent = 3           # sessions across all workspaces
# plan = "max"                 # free | pro | max | team | api (api enables budgets)
# priority = 1                 # fallback order, lower first
# api_key_env = "ANTHROPIC_API_KEY"   # API-direct agents: the NAME of the env var, never the key

# [dashboard]
# port = 4040

# [resilience]
# rate_limit_strategy = "rotate_profile"
# provider_down_strategy = "rotate_profile"
# retry_max_attempts = 1        # command-step retries (1 = no retry)
# retry_initial_backoff_ms = 500
# retry_max_backoff_ms = 5000

# Commands and tools agents may run unattended (shell prefixes or tool names).
# [permissions]
# allow = ["Read", "Edit", "cargo test"]

# [serve]
# bind = "127.0.0.1"           # keep local unless you also set auth = "bearer"
# auth = "none"
"""


def global_path() -> Path:
    return paths.global_config_path()


def load_global(path: Path | None = None) -> GlobalConfig:
    """The global config, or defaults when the file does not exist yet."""
    from tutti.config.load import build_model, parse_toml, read_config_text

    path = path or global_path()
    if not path.exists():
        return GlobalConfig()
    file = display_path(path)
    config = build_model(parse_toml(read_config_text(path, file), file), file, GlobalConfig)
    for issue in global_problems(config, file):
        raise issue.to_error()
    from tutti.config import notices
    from tutti.config.unknown_keys import unknown_key_warnings

    notices.publish(unknown_key_warnings(config, file))
    return _blank_rules_are_no_policy(config)


def _blank_rules_are_no_policy(config: GlobalConfig) -> GlobalConfig:
    """As in the original, `[permissions] allow` with no non-blank rule is no policy at all (not a
    policy that blocks everything); blank entries are dropped."""
    if config.permissions is not None:
        rules = [r for r in config.permissions.allow if isinstance(r, str) and r.strip()]
        config.permissions = config.permissions.model_copy(update={"allow": rules}) if rules else None
    return config


def global_problems(config: GlobalConfig, file: str) -> Iterator[ConfigIssue]:
    seen: set[str] = set()
    for i, profile in enumerate(config.profiles, start=1):
        if not profile.name.strip():
            yield ConfigIssue(file, f"profile[{i}] → name", "invalid config: profile name cannot be empty",
                              "give every [[profile]] a name")
        elif profile.name in seen:
            yield ConfigIssue(file, f"profile '{profile.name}' → name",
                              f"invalid config: duplicate profile name: '{profile.name}'",
                              "rename or remove one of the [[profile]] tables with this name")
        seen.add(profile.name)
    for i, ws in enumerate(config.registered_workspaces, start=1):
        if not ws.name.strip() or not ws.path.strip():
            yield ConfigIssue(file, f"registered_workspace[{i}]",
                              "invalid config: registered_workspace needs a non-empty name and path",
                              "remove the entry, or run `tt init` in that workspace again")


def ensure_global_file(path: Path | None = None) -> bool:
    """Create the global config from the commented default; True if it was created."""
    path = path or global_path()
    if path.exists():
        return False
    with _locked(path):
        if path.exists():
            return False
        write_text_atomic(path, DEFAULT_GLOBAL_CONFIG)
        return True


@contextmanager
def edit_global(path: Path | None = None) -> Iterator[Any]:
    """Yield the global config as a tomlkit document; on exit, validate and write it atomically.

    Comments and formatting of everything not touched are preserved. Raises ConfigError (and
    writes nothing) if the edited document would not load.
    """
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    from tutti.config.load import build_model, read_config_text

    path = path or global_path()
    file = display_path(path)
    with _locked(path):
        text = read_config_text(path, file) if path.exists() else DEFAULT_GLOBAL_CONFIG
        try:
            doc = tomlkit.parse(text)
        except TOMLKitError as exc:
            raise ConfigIssue(file, "document", f"failed to parse TOML: {exc}",
                              "fix the TOML syntax, then retry").to_error() from None
        yield doc
        new_text = tomlkit.dumps(doc)
        if not new_text.endswith("\n"):
            new_text += "\n"
        config = build_model(doc.unwrap(), file, GlobalConfig)
        for issue in global_problems(config, file):
            raise issue.to_error()
        if new_text != text or not path.exists():
            write_text_atomic(path, new_text)


def register_workspace(name: str, path: Path, *, config_path: Path | None = None) -> bool:
    """Upsert `name → path` in the registry; True when something changed."""
    import tomlkit

    resolved = str(Path(path).resolve())
    with edit_global(config_path) as doc:
        entries = doc.get("registered_workspace")
        if entries is None:
            entries = tomlkit.aot()
            doc.add(tomlkit.nl())
            doc.append("registered_workspace", entries)
        for entry in entries:
            if entry.get("name") == name:
                if entry.get("path") == resolved:
                    return False
                entry["path"] = resolved
                return True
        table = tomlkit.table()
        table["name"] = name
        table["path"] = resolved
        entries.append(table)
        return True


def unregister_workspace(name: str, *, config_path: Path | None = None) -> bool:
    with edit_global(config_path) as doc:
        entries = doc.get("registered_workspace")
        if entries is None:
            return False
        keep = [i for i, e in enumerate(entries) if e.get("name") == name]
        for i in reversed(keep):
            del entries[i]
        return bool(keep)


def registered_workspaces(config_path: Path | None = None) -> list[RegisteredWorkspace]:
    return list(load_global(config_path).registered_workspaces)


def append_permission_rules(rules: Iterable[str], *, config_path: Path | None = None) -> list[str]:
    """Add rules to `[permissions] allow` (skipping ones already there); returns those added."""
    import tomlkit

    wanted = [r.strip() for r in rules if r and r.strip()]
    with edit_global(config_path) as doc:
        perms = doc.get("permissions")
        if perms is None:
            perms = tomlkit.table()
            doc.add(tomlkit.nl())
            doc.append("permissions", perms)
        allow = perms.get("allow")
        if allow is None:
            allow = tomlkit.array()
            allow.multiline(True)
            perms["allow"] = allow
        present = {str(r) for r in allow}
        added = []
        for rule in wanted:
            if rule not in present:
                allow.append(rule)
                present.add(rule)
                added.append(rule)
        return added


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Exclusive advisory lock next to the file; released even if the process dies."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:  # e.g. TUTTI_HOME points below a file, or a read-only home
        raise ConfigError(f"cannot write the global config directory {path.parent}: {exc.strerror or exc}",
                          hint="point TUTTI_HOME (or XDG_CONFIG_HOME) at a writable directory") from None
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT_SECS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ToolError(f"timed out acquiring global config lock at {lock_path}",
                                    hint="another tt process is editing the global config; retry") from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock
