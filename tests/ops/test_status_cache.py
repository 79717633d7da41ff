"""`tt status` reads the config from the validated-config cache (a read-only view of the model
dump, `tutti.config.view`) when it matches tutti.toml: without pydantic, and with exactly the
output of the full load. Real tmux sessions running the shipped fake agent, real `tt`
subprocesses; whether pydantic was imported is read from the child's own `sys.modules`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from tests.helpers import wait_until

from tutti.config import cache

# Modules a warm `tt status` must not load: the config models, the launch code, asyncio (only
# for agents placed on other hosts).
HEAVY = ("pydantic", "tutti.config.models", "tutti.lifecycle.agents", "asyncio")
# `tt` in a child that reports on stderr's last line which of them it loaded.
PROBE = ("import sys; sys.argv = ['tt'] + sys.argv[1:]\n"
         "from tutti.cli import main\n"
         "try:\n    main()\nfinally:\n"
         f"    print('LOADED=' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n")

EXTRA = '''
[roles]
reviewer = "fake"

[[runtime]]
name = "lookalike"
command = "{python} -m tutti.testing.fake_agent"
idle = ["fake:claude"]

[[agent]]
name = "r"
role = "reviewer"
worktree = false
bogus_key = 1

[[agent]]
name = "custom"
runtime = "lookalike"
worktree = false

[[agent]]
name = "never"
'''


def _tt(root, *args):
    out = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    err, _, flag = out.stderr.rstrip("\n").rpartition("\n")
    assert flag.startswith("LOADED="), out.stderr
    loaded = [m for m in flag.removeprefix("LOADED=").split(",") if m]
    return out.stdout, err, loaded


def _models(loaded: list[str]) -> bool:
    return "pydantic" in loaded


def _workspace(fake_workspace):
    root = fake_workspace([{"name": "a"}, {"name": "b", "worktree": False}], env={"TUTTI_FAKE_STATE_FILE": "1"})
    (root / "tutti.toml").write_text((root / "tutti.toml").read_text() + EXTRA.format(python=sys.executable))
    for agent in ("a", "b", "r", "custom"):
        up = subprocess.run([sys.executable, "-m", "tutti", "up", agent, "--mode", "safe"], cwd=root, capture_output=True, text=True,
                            timeout=120)
        assert up.returncode == 0, up.stderr
    return root


def _settled(root):
    """Every started agent idle, and two reads in a row equal (nothing still changing)."""
    last: list[str] = []

    def check() -> bool:
        out, _, _ = _tt(root, "status", "--json")
        rows = {r["agent"]: r["state"] for r in json.loads(out)}
        last.append(out)
        done = rows == {"a": "idle", "b": "idle", "r": "idle", "custom": "idle", "never": "stopped"}
        return done and len(last) > 1 and last[-1] == last[-2]

    wait_until(check, timeout=60)


def _cold_then_warm(root, *args):
    shutil.rmtree(root / ".tutti" / "cache", ignore_errors=True)
    cold = _tt(root, *args)
    assert _models(cold[2]), "without a cache the full load (pydantic models) must run"
    assert cache.cached_config(root) is not None, "the full load writes the cache"
    warm = _tt(root, *args)
    assert warm[2] == [], f"with a warm cache tt status loaded {warm[2]}"
    return cold, warm


def test_status_from_the_cache_equals_the_full_load(fake_workspace):
    root = _workspace(fake_workspace)
    _settled(root)
    cold, warm = _cold_then_warm(root, "status", "--json")
    assert warm[0] == cold[0]  # byte-identical JSON
    rows = {r["agent"]: r for r in json.loads(warm[0])}
    assert rows["r"]["runtime"] == "fake" and rows["custom"]["runtime"] == "lookalike"  # role, [[runtime]]
    assert rows["a"]["evidence"][0] == "state_file:idle"  # structured signals through the view
    assert rows["custom"]["evidence"] == ["idle:fake:claude"]  # the custom runtime's own rule
    assert rows["a"]["workdir"].endswith("/.tutti/worktrees/a") and rows["never"]["running"] is False
    assert "bogus_key" in warm[1] and warm[1] == cold[1]  # the load's warnings, once, both ways
    cold, warm = _cold_then_warm(root, "status")
    assert warm[0] == cold[0] and "lookalike" in warm[0]  # the human table too


def test_an_edit_is_never_served_from_the_old_cache(fake_workspace):
    root = _workspace(fake_workspace)
    _tt(root, "status")
    assert _tt(root, "status")[2] == []  # warm
    toml = root / "tutti.toml"
    toml.write_text(toml.read_text() + '\n[[agent]]\nname = "late"\n')
    out, _, loaded = _tt(root, "status", "--json")
    assert _models(loaded) and "late" in [r["agent"] for r in json.loads(out)]  # the edit: a full load
    out, _, loaded = _tt(root, "status", "--json")
    assert loaded == [] and "late" in [r["agent"] for r in json.loads(out)]  # and the cache follows it
    toml.write_text(toml.read_text() + '\n[[agent]]\nname = "late"\n')  # now invalid: a duplicate
    bad = subprocess.run([sys.executable, "-m", "tutti", "status"], cwd=root, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode != 0 and "error[" in bad.stderr and "Traceback" not in bad.stderr


def test_a_corrupt_cache_is_rebuilt_not_trusted(fake_workspace):
    root = _workspace(fake_workspace)
    good, _, _ = _tt(root, "status", "--json")
    path = root / cache.CACHE_FILE
    data = json.loads(path.read_text())
    data["config"] = {"$model": "TuttiConfig"}  # the right key, a tree the view cannot read
    path.write_text(json.dumps(data))
    out, _, loaded = _tt(root, "status", "--json")
    assert _models(loaded) and [r["agent"] for r in json.loads(out)] == [r["agent"] for r in json.loads(good)]
    assert _tt(root, "status", "--json")[2] == []  # rewritten by that full load: warm again
    path.write_text("{not json")
    out, _, loaded = _tt(root, "status", "--json")
    assert _models(loaded) and [r["agent"] for r in json.loads(out)] == [r["agent"] for r in json.loads(good)]
