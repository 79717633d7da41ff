"""Engine settings that come from the global config: command retries and permission rules.

`[resilience].retry_*` and `[permissions].allow` live only in the global config (inventory §2.4).
The global-config loader belongs to the config layer (`tutti.config.global_config`); when it is
not available we read the file ourselves so the engine never depends on build order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tutti.errors import ConfigError

if TYPE_CHECKING:
    from tutti.config.models import GlobalConfig


@dataclass
class EngineSettings:
    retry_max_attempts: int = 1
    retry_initial_backoff_ms: int = 500
    retry_max_backoff_ms: int = 5000
    allow_rules: list[str] | None = None  # None: no [permissions] table → no command policy
    rules_source: str | None = None

    def backoff_secs(self, failed_attempts: int) -> float:
        """initial × 2^(k−1), capped (k = attempts failed so far)."""
        ms = self.retry_initial_backoff_ms * (2 ** max(failed_attempts - 1, 0))
        return min(ms, self.retry_max_backoff_ms) / 1000

    @property
    def attempts(self) -> int:
        return max(1, self.retry_max_attempts)


def load_global_config() -> GlobalConfig:
    try:
        from tutti.config.global_config import load_global  # type: ignore[import-not-found]
    except ImportError:
        return _read_global()
    loaded = load_global()
    return getattr(loaded, "config", loaded)


def _read_global() -> GlobalConfig:
    import tomllib

    from pydantic import ValidationError

    from tutti.config.models import GlobalConfig
    from tutti.paths import global_config_path

    path = global_config_path()
    if not path.is_file():
        return GlobalConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return GlobalConfig.model_validate(data)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"failed to parse {path}: {exc}", hint="fix the TOML syntax at that line") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = " → ".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {loc}: {first['msg']}", hint="fix the global config key") from None


def load_settings() -> EngineSettings:
    from tutti.paths import global_config_path

    cfg = load_global_config()
    r = cfg.resilience
    return EngineSettings(
        retry_max_attempts=r.retry_max_attempts,
        retry_initial_backoff_ms=r.retry_initial_backoff_ms,
        retry_max_backoff_ms=r.retry_max_backoff_ms,
        allow_rules=list(cfg.permissions.allow) if cfg.permissions is not None else None,
        rules_source=str(global_config_path()),
    )
