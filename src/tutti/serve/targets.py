"""Which workspaces, address and auth one `tt serve` process uses (inventory §4.1).

Workspaces: `--all` (every registered workspace), `-w NAME|PATH`, or the one around the cwd.
Bind: `--bind` > `--remote` (0.0.0.0) > global `[serve].bind` > 127.0.0.1. A non-loopback bind
without bearer auth is refused with the original's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tutti.errors import ConfigError, NotFoundError, UsageError

if TYPE_CHECKING:
    from tutti.config.models import GlobalConfig
    from tutti.workspace import Workspace

REFUSE_UNAUTHENTICATED = (
    "refusing to bind to non-localhost address without authentication; use --remote to enable "
    "bearer-token auth, or set [serve] auth = \"bearer\" in config"
)


@dataclass
class ServePlan:
    workspaces: list[Workspace]
    bind: str
    port: int
    auth: bool
    dashboard: bool


def load_global() -> GlobalConfig:
    try:
        from tutti.config.global_config import load_global as shared  # the config module's loader, once built
    except ImportError:
        shared = None
    if shared is not None:
        loaded = shared()
        return getattr(loaded, "config", loaded)
    import tomllib

    from pydantic import ValidationError

    from tutti.config.models import GlobalConfig
    from tutti.paths import global_config_path

    path = global_config_path()
    if not path.is_file():
        return GlobalConfig()
    try:
        return GlobalConfig.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"failed to parse {path}: {exc}", hint="fix the TOML syntax at that line") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {loc}: {first['msg']}", hint="fix that key in the global config") from None


def resolve_workspaces(workspace: str | None, all_: bool, cwd: Path, config: GlobalConfig) -> list[Workspace]:
    from tutti.workspace import load_workspace, load_workspace_at

    if all_:
        if not config.registered_workspaces:
            raise UsageError("no registered workspaces to serve with --all", hint="run `tt init` in a project first")
        return [load_workspace_at(Path(r.path).expanduser()) for r in config.registered_workspaces]
    if workspace:
        registered = next((r for r in config.registered_workspaces if r.name == workspace), None)
        if registered is not None:
            return [load_workspace_at(Path(registered.path).expanduser())]
        candidate = Path(workspace).expanduser()
        if (candidate / "tutti.toml").is_file():
            return [load_workspace_at(candidate)]
        raise NotFoundError(f"workspace '{workspace}' is not registered and is not a directory with tutti.toml",
                            hint="see `tt workspaces` for registered names")
    return [load_workspace(cwd)]


def plan(*, workspace: str | None, all_: bool, bind: str | None, remote: bool, port: int | None,
         cwd: Path) -> ServePlan:
    from tutti.serve.auth import is_loopback

    config = load_global()
    workspaces = resolve_workspaces(workspace, all_, cwd, config)
    address = bind or ("0.0.0.0" if remote else None) or config.serve.bind or "127.0.0.1"
    auth = remote or config.serve.auth == "bearer"
    if not is_loopback(address) and not auth:
        raise UsageError(REFUSE_UNAUTHENTICATED, hint=f"tt serve --remote --bind {address} (clients then send the bearer "
                                                     "token from the serve-token file), or keep 127.0.0.1 and "
                                                     "tunnel: ssh -L 4040:127.0.0.1:4040 HOST")
    return ServePlan(
        workspaces=workspaces, bind=address, port=port if port is not None else (config.dashboard.port or 4040), auth=auth,
        dashboard=any(ws.config.observe.dashboard for ws in workspaces),
    )
