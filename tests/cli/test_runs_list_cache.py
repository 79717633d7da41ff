"""`tt runs list` reads the workspace name from the validated-config cache (no pydantic models)
when it matches tutti.toml, and prints exactly what the full load prints."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from tutti.config import cache

CONFIG = '[workspace]\nname = "c"\n\n[[workflow]]\nname = "one"\n[[workflow.step]]\ntype = "command"\nrun = "true"\n'
NO_MODELS = ("import sys; sys.argv = ['tt', 'runs', 'list', '--json']\n"
             "from tutti.cli import main\nmain()\n"
             "assert 'pydantic' not in sys.modules and 'tutti.config.models' not in sys.modules, 'models loaded'\n")


def _tt(root, *args):
    return subprocess.run([sys.executable, "-m", "tutti", *args], cwd=root, capture_output=True, text=True, timeout=120)


def test_runs_list_from_the_cache_equals_the_full_load(tmp_path):
    (tmp_path / "tutti.toml").write_text(CONFIG)
    (tmp_path / ".tutti").mkdir()
    assert _tt(tmp_path, "run", "one").returncode == 0
    shutil.rmtree(tmp_path / ".tutti" / "cache", ignore_errors=True)
    full = _tt(tmp_path, "runs", "list", "--json")  # full load: writes the cache
    assert full.returncode == 0, full.stderr
    assert cache.cached_summary(tmp_path) is not None
    fast = subprocess.run([sys.executable, "-c", NO_MODELS], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert fast.returncode == 0, fast.stderr
    rows = json.loads(fast.stdout)
    assert rows == json.loads(full.stdout) and [r["workflow"] for r in rows] == ["one"]


def test_an_edit_is_never_served_from_the_old_cache(tmp_path):
    (tmp_path / "tutti.toml").write_text(CONFIG)
    (tmp_path / ".tutti").mkdir()
    assert _tt(tmp_path, "runs", "list").returncode == 0
    assert cache.cached_summary(tmp_path)["workspace"] == "c"
    (tmp_path / "tutti.toml").write_text(CONFIG.replace('name = "c"', 'name = "d"', 1))
    assert cache.cached_summary(tmp_path) is None
    assert _tt(tmp_path, "runs", "list").returncode == 0
    assert cache.cached_summary(tmp_path)["workspace"] == "d"
    (tmp_path / "tutti.toml").write_text(CONFIG + "bogus_key = 1\n[[agent]]\n")  # invalid now
    out = _tt(tmp_path, "runs", "list")
    assert out.returncode != 0 and "error[" in out.stderr and "Traceback" not in out.stderr
