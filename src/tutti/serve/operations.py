"""Lazy access to the `tutti.ops` use-cases the API exposes.

The server imports an ops function only when a request needs it, so `tt serve` starts fast and an
action whose ops module is not part of this build answers with a clear error envelope instead of
crashing the server.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from tutti.errors import ToolError


def operation(module: str, name: str) -> Callable[..., Any]:
    try:
        mod = importlib.import_module(f"tutti.ops.{module}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("tutti.ops"):
            raise ToolError(f"action unavailable: tutti.ops.{module} is not part of this build",
                            hint="update tutti, or use the CLI equivalent") from None
        raise
    fn = getattr(mod, name, None)
    if fn is None:
        raise ToolError(f"action unavailable: tutti.ops.{module}.{name} is not part of this build",
                        hint="update tutti, or use the CLI equivalent")
    return fn


def available(module: str, name: str) -> bool:
    try:
        operation(module, name)
        return True
    except ToolError:
        return False
