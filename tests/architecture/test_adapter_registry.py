"""The adapter registry seam (`tutti.adapters.Registry`): merge gates and reviewer kinds plug in
as one line each; lazy paths import nothing until used; an unknown kind is one clear error."""

from __future__ import annotations

import sys
import textwrap

import pytest

from tutti.adapters import Registry
from tutti.errors import ConfigError


def test_lazy_path_is_imported_only_when_the_kind_is_built(tmp_path, monkeypatch):
    pkg = tmp_path / "lazy_adapter_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "impl.py").write_text(textwrap.dedent("""
        class Thing:
            def __init__(self, name):
                self.name = name
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    reg: Registry[object] = Registry("widget kind", {"lazy": "lazy_adapter_pkg.impl:Thing"})
    assert "lazy_adapter_pkg.impl" not in sys.modules
    assert reg.kinds() == ["lazy"]
    thing = reg.build("lazy", "x")
    assert type(thing).__name__ == "Thing" and thing.name == "x"
    assert "lazy_adapter_pkg.impl" in sys.modules


def test_unknown_kind_names_where_it_came_from_and_the_known_kinds():
    reg: Registry[object] = Registry("merge gate", {"b": object, "a": object})
    with pytest.raises(ConfigError) as exc:
        reg.build("nope", where="tutti.toml: gate → kind")
    assert exc.value.message == "tutti.toml: gate → kind: unknown merge gate 'nope'"
    assert exc.value.hint == "use one of: a, b"


def test_lazy_path_must_name_an_attribute():
    with pytest.raises(ValueError):
        Registry("x").register("k", "module.without.attribute")


def test_merge_gates_are_registry_entries_and_a_new_gate_is_one_line(tmp_path):
    from tutti.gates.merge import GATES, GateResult, gate_for
    from tutti.workspace import load_workspace_at

    assert {"local", "github", "none"} <= set(GATES.kinds())
    (tmp_path / "tutti.toml").write_text('[workspace]\nname = "g"\n\n[[agent]]\nname = "impl"\nruntime = "fake"\n')
    ws = load_workspace_at(tmp_path)

    class Always:
        name = "always"

        def __init__(self, ws, cfg, **services):  # services: run_workflow
            self.cfg = cfg

        def check(self, ws, agent, *, run_id=None, cancel=None):
            return GateResult("always", True, f"ok for {agent}")

    GATES.register("always", Always)
    try:
        assert gate_for(ws, "always").check(ws, "impl").message == "ok for impl"
        assert gate_for(ws, "none").check(ws, "impl").passed
        with pytest.raises(ConfigError, match="gate → kind: unknown merge gate 'bogus'"):
            gate_for(ws, "bogus")
    finally:
        GATES.unregister("always")


def test_loop_reviewers_are_a_registry_and_an_unknown_kind_is_a_config_error():
    from tutti.loop.review import REVIEWERS, register_reviewer

    assert {"ci", "agent", "bot", "human"} <= set(REVIEWERS.kinds())
    register_reviewer("nitpick", lambda ctx: ["one"])
    try:
        assert REVIEWERS.build("nitpick", None) == ["one"]
    finally:
        REVIEWERS.unregister("nitpick")
    with pytest.raises(ConfigError, match="unknown reviewer kind 'nope'"):
        REVIEWERS.build("nope", None, where="tutti.toml: loop → reviewers")
