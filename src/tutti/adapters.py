"""A registry of adapter kinds: name → factory, the pattern `tutti.runtimes.registry` uses.

Intake sources, reviewers and merge gates are each one `Registry`: a kind (`"github"`,
`"local"`, `"agent"` ...) maps to a factory, or to a lazy `"module:attribute"` path to one so
nothing is imported until that kind is used. A new adapter is one file plus one line:

    GATES.register("forge", "tutti.gates.forge:ForgeGate")

`build(kind, *args)` calls the factory; an unknown kind is a `ConfigError` that names where the
kind came from (`where=`, e.g. "tutti.toml: gate → kind") and lists the known kinds.

This module sits in the lowest layer (it imports only `tutti.errors`): any layer may declare a
registry. Register from the layer that owns the implementation, or by a lazy path into the
registry's own layer or a lower one — never a path into a higher layer (the import contract in
pyproject.toml cannot see a lazy path, so review it).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from tutti.errors import ConfigError

T = TypeVar("T")
Factory = Callable[..., T]


class Registry(Generic[T]):
    def __init__(self, what: str, entries: dict[str, str | Factory[T]] | None = None) -> None:
        self.what = what  # "merge gate", "intake kind", "reviewer kind": used in error messages
        self._entries: dict[str, str | Factory[T]] = dict(entries or {})

    def register(self, kind: str, factory: str | Factory[T]) -> None:
        """Add (or replace) a kind: a callable, or a lazy "module:attribute" path to one."""
        if isinstance(factory, str) and ":" not in factory:
            raise ValueError(f"lazy factory path must be 'module:attribute', got {factory!r}")
        self._entries[kind] = factory

    def unregister(self, kind: str) -> None:
        self._entries.pop(kind, None)

    def kinds(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, kind: object) -> bool:
        return kind in self._entries

    def factory(self, kind: str, *, where: str | None = None) -> Factory[T]:
        """The callable registered for `kind` (importing its module the first time)."""
        entry = self._entries.get(kind)
        if entry is None:
            prefix = f"{where}: " if where else ""
            raise ConfigError(f"{prefix}unknown {self.what} '{kind}'",
                              hint=f"use one of: {', '.join(self.kinds()) or '(none registered)'}")
        if isinstance(entry, str):
            module, attr = entry.split(":", 1)
            entry = getattr(importlib.import_module(module), attr)
            self._entries[kind] = entry
        return entry

    def build(self, kind: str, *args: Any, where: str | None = None, **kwargs: Any) -> T:
        """`factory(kind)(*args, **kwargs)`."""
        return self.factory(kind, where=where)(*args, **kwargs)
