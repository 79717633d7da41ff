"""`import_optional` under threads: a wave's steps run in a pool, so two steps may ask for a step
module while the first import of it is still executing in another thread."""

from __future__ import annotations

import sys
import threading

from tutti.workflows.steps import import_optional

SLOW_MODULE = '''
import time
import builtins
builtins._tutti_slow_started.set()   # the importing thread is now inside this module's body
time.sleep(0.5)
def execute():
    return "ran"
'''


def test_a_module_half_imported_by_another_thread_is_waited_for(tmp_path, monkeypatch):
    import builtins

    (tmp_path / "tutti_slow_step_mod.py").write_text(SLOW_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    started = threading.Event()
    monkeypatch.setattr(builtins, "_tutti_slow_started", started, raising=False)
    first = threading.Thread(target=import_optional, args=("tutti_slow_step_mod",))
    try:
        first.start()
        assert started.wait(10)
        assert "tutti_slow_step_mod" in sys.modules  # half-built, still sleeping in its body
        module = import_optional("tutti_slow_step_mod")
        assert module is not None and hasattr(module, "execute"), "handed out a half-initialised module"
        assert module.execute() == "ran"
    finally:
        first.join(10)
        sys.modules.pop("tutti_slow_step_mod", None)


def test_a_loaded_module_is_returned_without_the_import_machinery(monkeypatch):
    calls = []
    import importlib

    real = importlib.import_module
    monkeypatch.setattr(importlib, "import_module", lambda name, *a: calls.append(name) or real(name, *a))
    assert import_optional("json") is sys.modules["json"]
    assert calls == []
    assert import_optional("tutti_no_such_module_anywhere") is None
