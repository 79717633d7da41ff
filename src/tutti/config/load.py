"""Load tutti.toml into `TuttiConfig`, turning every problem into a ConfigError with a key path.

(Foundation version: parse + model validation. `config.validate` adds the cross-field rules.)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tutti.config.models import TuttiConfig
from tutti.errors import ConfigError


@dataclass
class LoadedConfig:
    config: TuttiConfig
    path: Path
    warnings: list[str] = field(default_factory=list)


def load_config(path: Path) -> LoadedConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found", hint="Run `tt init` to create tutti.toml") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"failed to parse {path}: {exc}", hint="fix the TOML syntax at that line") from None
    from pydantic import ValidationError

    try:
        config = TuttiConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = " → ".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {loc}: {first['msg']}", hint="see `tt schema` for the keys tutti.toml accepts") from None
    return LoadedConfig(config=config, path=path)
