"""The validated-config cache behind read-only commands (`tt run --list`)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tutti.config import cache
from tutti.workspace import load_workspace_at

CONFIG = '[workspace]\nname = "c"\n\n[[workflow]]\nname = "one"\ndescription = "first"\n' \
         '[[workflow.step]]\ntype = "command"\nrun = "true"\n'


@pytest.fixture
def ws_root(tmp_path):
    (tmp_path / "tutti.toml").write_text(CONFIG)
    (tmp_path / ".tutti").mkdir()
    return tmp_path


def _tt(root, *args):
    return subprocess.run([sys.executable, "-m", "tutti", *args], cwd=root, capture_output=True, text=True, timeout=60)


def test_a_full_load_writes_the_summary_and_a_matching_read_uses_it(ws_root):
    load_workspace_at(ws_root)
    summary = cache.cached_summary(ws_root)
    assert summary is not None and summary["workspace"] == "c"
    assert summary["workflows"] == [{"name": "one", "description": "first", "steps": 1, "schedule": None}]


def test_the_cache_file_is_private_to_its_owner(ws_root):
    """The dump carries every config value, `[agent.env]` included: not readable by others."""
    (ws_root / "tutti.toml").write_text(CONFIG.replace('[[workflow]]', '[[agent]]\nname = "a"\nruntime = "fake"\n'
                                                       'env = { API_TOKEN = "s3cret" }\n\n[[workflow]]'))
    assert _tt(ws_root, "run", "--list").returncode == 0
    path = ws_root / cache.CACHE_FILE
    assert "s3cret" in path.read_text()
    assert path.stat().st_mode & 0o077 == 0, oct(path.stat().st_mode)


def test_an_edit_invalidates_the_cache_and_run_list_shows_the_edit(ws_root):
    load_workspace_at(ws_root)
    (ws_root / "tutti.toml").write_text(CONFIG.replace('name = "one"', 'name = "renamed"'))
    assert cache.cached_summary(ws_root) is None
    out = _tt(ws_root, "run", "--list", "--json")
    assert out.returncode == 0, out.stderr
    assert [w["name"] for w in json.loads(out.stdout)] == ["renamed"]
    assert cache.cached_summary(ws_root)["workflows"][0]["name"] == "renamed"  # rewritten by that load


def test_a_new_tool_version_invalidates_the_cache(ws_root, monkeypatch):
    load_workspace_at(ws_root)
    assert cache.cached_summary(ws_root) is not None
    import tutti

    monkeypatch.setattr(tutti, "__version__", tutti.__version__ + ".post1")
    assert cache.cached_summary(ws_root) is None


def test_a_cached_summary_is_what_run_list_prints_without_building_models(ws_root):
    load_workspace_at(ws_root)
    data = json.loads((ws_root / cache.CACHE_FILE).read_text())
    data["summary"]["workflows"][0]["description"] = "from the cache"
    (ws_root / cache.CACHE_FILE).write_text(json.dumps(data))  # same key: a reader trusts it
    code = ("import sys; sys.argv = ['tt', 'run', '--list', '--json']\n"
            "from tutti.cli import main\nmain()\n"
            "assert 'pydantic' not in sys.modules and 'tutti.config.models' not in sys.modules, 'models loaded'\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ws_root, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["description"] == "from the cache"


def test_an_invalid_file_is_never_served_from_the_cache(ws_root):
    load_workspace_at(ws_root)
    (ws_root / "tutti.toml").write_text(CONFIG + "[[workflow.step]]\ntype = \"nope\"\n")
    out = _tt(ws_root, "run", "--list")
    assert out.returncode != 0 and "error[" in out.stderr


def test_a_broken_cache_file_falls_back_to_the_full_load(ws_root):
    load_workspace_at(ws_root)
    (ws_root / cache.CACHE_FILE).write_text("{not json")
    out = _tt(ws_root, "run", "--list")
    assert out.returncode == 0 and "one" in out.stdout


def test_version_answers_without_click(tmp_path):
    code = ("import sys; sys.argv = ['tt', '--version']\nfrom tutti.cli import main\nmain()\n"
            "assert 'click' not in sys.modules\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    from tutti import __version__

    assert out.stdout.strip() == f"tt, version {__version__}"
