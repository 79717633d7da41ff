"""A read-only view of a validated config, rebuilt from the validated-config cache without pydantic.

At write time (`dump`, called after a successful full load) the model tree is recorded as the
JSON the model itself dumps (`model_dump(mode="json")`), with each sub-model tagged by its
class name and each plain mapping tagged as such, so a reader never has to guess whether a
JSON object was a model (attribute access) or a dict (`agent.env`, `roles`, `pricing`). At
read time (`load`) the tree becomes `ConfigView` objects: attribute access over the same
field names and values. The few methods that read paths call on the config (`agent`,
`resolved_runtime`, `uses_worktree`, `branch_name`) live here as mixins that the pydantic
models inherit too, so the fast path and the full load run the same code. A method a mixin
does not provide is an AttributeError on the view, never a guess. Import-free on purpose.
"""

from __future__ import annotations

from typing import Any

MODEL, FIELDS, MAPPING = "$model", "fields", "$dict"


class TuttiConfigMethods:
    """Lookups on `TuttiConfig` shared by the model and its cached view. (No class-level
    annotations here: pydantic would read them as fields of the model.)"""

    def agent(self: Any, name: str) -> Any:
        return next((a for a in self.agents if a.name == name), None)

    def workflow(self: Any, name: str) -> Any:
        return next((w for w in self.workflows if w.name == name), None)

    def resolved_runtime(self: Any, agent: Any) -> str | None:
        """explicit runtime > [roles][role] > [defaults].runtime — except that an API-direct agent
        (a `provider` and no `runtime`) has none: Tutti runs its turns itself (`tt send --direct`),
        and a team-wide default must not turn it into a CLI agent."""
        if agent.runtime:
            return agent.runtime
        if getattr(agent, "provider", None):
            return None
        if agent.role and self.roles and agent.role in self.roles:
            return self.roles[agent.role]
        return self.defaults.runtime

    def uses_worktree(self: Any, agent: Any) -> bool:
        return self.defaults.worktree if agent.worktree is None else agent.worktree


class AgentMethods:
    """Methods of an `[[agent]]` model shared with its cached view."""

    def branch_name(self: Any) -> str:
        return self.branch or f"tutti/{self.name}"


class ConfigView:
    """A read-only model instance from the cache: its fields as attributes."""

    __slots__ = ("_model", "_fields")
    _model: str
    _fields: dict[str, Any]

    def __init__(self, model: str, fields: dict[str, Any]) -> None:
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_fields", fields)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(f"{self._model} (cached view) has no attribute '{name}'") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self._model} (cached view) is read-only")

    def __repr__(self) -> str:
        return f"<{self._model} view {self._fields!r}>"


class _TuttiConfigView(TuttiConfigMethods, ConfigView):
    __slots__ = ()


class _AgentView(AgentMethods, ConfigView):
    __slots__ = ()


_VIEWS: dict[str, type[ConfigView]] = {"TuttiConfig": _TuttiConfigView, "Agent": _AgentView}


def dump(model: Any) -> Any:
    """The tagged JSON tree of a validated model (pydantic is loaded: this runs after a full load)."""
    return _tag(model, model.model_dump(mode="json"))


def _tag(obj: Any, data: Any) -> Any:
    from pydantic import BaseModel

    if isinstance(obj, BaseModel) and isinstance(data, dict):
        return {MODEL: type(obj).__name__, FIELDS: {k: _tag(getattr(obj, k, None), v) for k, v in data.items()}}
    if isinstance(obj, dict) and isinstance(data, dict):
        return {MAPPING: {k: _tag(obj.get(k), v) for k, v in data.items()}}
    if isinstance(obj, list | tuple) and isinstance(data, list) and len(obj) == len(data):
        return [_tag(o, d) for o, d in zip(obj, data, strict=True)]
    return data


def load(tree: Any) -> Any:
    """The view of a tagged tree written by `dump`; ValueError on anything else (the caller then
    treats the cache as broken and does the full load)."""
    if isinstance(tree, list):
        return [load(t) for t in tree]
    if not isinstance(tree, dict):
        return tree
    if MAPPING in tree and len(tree) == 1 and isinstance(tree[MAPPING], dict):
        return {k: load(v) for k, v in tree[MAPPING].items()}
    model, fields = tree.get(MODEL), tree.get(FIELDS)
    if len(tree) != 2 or not isinstance(model, str) or not isinstance(fields, dict):
        raise ValueError("not a cached config tree")
    return _VIEWS.get(model, ConfigView)(model, {k: load(v) for k, v in fields.items()})
