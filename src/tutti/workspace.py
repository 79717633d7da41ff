"""A workspace: a directory with tutti.toml, its loaded config, state dir and store.

Every core function takes a Workspace explicitly — nothing calls chdir, so one process (the
server) can serve many workspaces at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from tutti.errors import ConfigError, NotFoundError, TuttiError
from tutti.paths import CONFIG_FILENAME, find_workspace_root

if TYPE_CHECKING:
    from tutti.config.models import Agent, GlobalConfig, TuttiConfig
    from tutti.store import Store


@dataclass
class Workspace:
    root: Path
    config: TuttiConfig
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.workspace.name

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILENAME

    @property
    def tutti_dir(self) -> Path:
        return self.root / ".tutti"

    @property
    def state_dir(self) -> Path:
        return self.tutti_dir / "state"

    @cached_property
    def store(self) -> Store:
        from tutti.store import open_store
        from tutti.store.state_files import watch

        store = open_store(self.root, workspace=self.name)
        watch(store, self.state_dir)  # the original's events.jsonl / run-telemetry.jsonl, for scripts
        return store

    def worktree_path(self, agent: str) -> Path:
        return self.tutti_dir / "worktrees" / agent

    def session_name(self, agent: str) -> str:
        from tutti.sessions.naming import session_name

        return session_name(self.name, agent, str(self.root))  # the root: see tutti.sessions.naming


def load_workspace(start: Path | None = None) -> Workspace:
    """Find tutti.toml from `start` (default cwd) upwards, load and validate it."""
    root = find_workspace_root(start)
    if root is None:
        where = (start or Path.cwd()).resolve()
        raise ConfigError(
            f"tutti.toml not found (searched from {where} to filesystem root)",
            hint="Run `tt init` to create tutti.toml",
        )
    return load_workspace_at(root)


def load_workspace_for_read(start: Path | None = None) -> Workspace:
    """For commands that only read the config (`tt runs list`, `tt status`): the workspace from
    the validated-config cache when it matches tutti.toml as it is now (a read-only view of the
    validated config: no pydantic), else the full load — which reports errors as usual and
    refreshes the cache. Never for a command that writes the config or hands it to code that
    needs the models themselves."""
    root = find_workspace_root(start)
    if root is None:
        return load_workspace(start)
    return load_workspace_for_read_at(root)


def load_workspace_for_read_at(root: Path) -> Workspace:
    """`load_workspace_for_read` for a known workspace root."""
    from tutti.config.cache import cached_config

    cached = cached_config(root)
    if cached is None:
        return load_workspace_at(root)
    from tutti.config import notices

    config, warnings = cached
    notices.publish(warnings)
    return Workspace(root=root.resolve(), config=config, warnings=warnings)


def load_workspace_at(root: Path) -> Workspace:
    from tutti.config.load import load_config

    loaded = load_config(root / CONFIG_FILENAME)
    return Workspace(root=root.resolve(), config=loaded.config, warnings=list(loaded.warnings))


def find_agent(ws: Workspace, name: str) -> Agent:
    """The configured agent `name` of `ws` (NotFoundError naming the agents there). Lives here,
    below ops/, so the workflow steps resolve agents the same way `ops.resolve` does."""
    agent = ws.config.agent(name)
    if agent is None:
        names = ", ".join(a.name for a in ws.config.agents) or "(none)"
        raise NotFoundError(f"agent '{name}' not found in config ({ws.config_path})", hint=f"agents in '{ws.name}': {names}")
    return agent


def load_global() -> GlobalConfig:
    """The global config (defaults when absent)."""
    from tutti.config.models import GlobalConfig

    try:
        from tutti.config.global_config import load_global as _load
    except ImportError:  # pragma: no cover - the config module ships with the package
        return GlobalConfig()
    return _load()


def registry() -> dict[str, Path]:
    """Registered workspace name → root directory."""
    return {w.name: Path(w.path).expanduser() for w in load_global().registered_workspaces}


def all_workspaces() -> list[tuple[str, Path, Workspace | None, str | None]]:
    """Every registered workspace: (name, root, loaded workspace or None, error message)."""
    out = []
    for name, root in sorted(registry().items()):
        try:
            out.append((name, root, load_workspace_at(root), None))
        except (TuttiError, OSError) as exc:  # a broken workspace must not hide the others
            out.append((name, root, None, getattr(exc, "message", str(exc))))
    return out
