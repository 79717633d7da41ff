"""Global config: location (TUTTI_HOME, XDG), comment-preserving edits, locking, validation."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from tutti import paths
from tutti.config import global_config as gc
from tutti.errors import ConfigError

USER_FILE = """\
# my precious comment at the top
[user]
name = "Ada"  # inline comment

# profiles I use
[[profile]]
name = "claude-max"
provider = "anthropic"
command = "claude"
plan = "max"
"""



def write_global(text: str) -> Path:
    """Write the global config file (a user editing it by hand) and return its path."""
    path = gc.global_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_tutti_home_wins_over_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("TUTTI_HOME", str(tmp_path / "th"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert gc.global_path() == tmp_path / "th" / "config.toml"


def test_xdg_config_home_is_honoured(monkeypatch, tmp_path):
    monkeypatch.delenv("TUTTI_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert gc.global_path() == tmp_path / "xdg" / "tutti" / "config.toml"
    gc.register_workspace("w", tmp_path)
    assert (tmp_path / "xdg" / "tutti" / "config.toml").is_file()


def test_default_home_location(monkeypatch, tmp_path):
    monkeypatch.delenv("TUTTI_HOME")
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert paths.global_config_path() == tmp_path / ".config" / "tutti" / "config.toml"


def test_missing_file_loads_defaults_without_creating_it():
    cfg = gc.load_global()
    assert cfg.registered_workspaces == [] and cfg.dashboard.port == 4040
    assert not gc.global_path().exists()


def test_first_creation_writes_the_commented_default_that_loads():
    assert gc.ensure_global_file() is True
    text = gc.global_path().read_text()
    assert text.startswith("# Tutti global configuration")
    assert gc.load_global().profiles == []
    assert gc.ensure_global_file() is False


def test_register_workspace_keeps_every_comment(tmp_path):
    path = write_global(USER_FILE)
    assert gc.register_workspace("api", tmp_path / "api") is True
    assert gc.register_workspace("web", tmp_path / "web") is True
    text = path.read_text()
    assert text.startswith(USER_FILE)  # untouched, byte for byte
    assert [(w.name, w.path) for w in gc.registered_workspaces()] == [
        ("api", str((tmp_path / "api").resolve())), ("web", str((tmp_path / "web").resolve()))]


def test_register_is_an_upsert(tmp_path):
    gc.register_workspace("api", tmp_path / "one")
    assert gc.register_workspace("api", tmp_path / "one") is False
    assert gc.register_workspace("api", tmp_path / "two") is True
    assert [(w.name, w.path) for w in gc.registered_workspaces()] == [("api", str((tmp_path / "two").resolve()))]
    assert gc.unregister_workspace("api") is True
    assert gc.registered_workspaces() == []


def test_default_template_comments_survive_registration(tmp_path):
    gc.ensure_global_file()
    gc.register_workspace("api", tmp_path)
    text = gc.global_path().read_text()
    assert text.startswith(gc.DEFAULT_GLOBAL_CONFIG)
    assert '[[registered_workspace]]\nname = "api"' in text


def test_append_permission_rules_deduplicates_and_keeps_comments():
    path = write_global(USER_FILE + '\n[permissions]\n# reviewed by me\nallow = ["Read"]\n')
    assert gc.append_permission_rules(["Read", "cargo test", "cargo test", " "]) == ["cargo test"]
    assert gc.append_permission_rules(["cargo test"]) == []
    assert gc.load_global().permissions.allow == ["Read", "cargo test"]
    assert "# reviewed by me" in path.read_text() and "# profiles I use" in path.read_text()


def test_invalid_global_file_names_file_and_key_path():
    write_global('[[profile]]\nname = "p"\nplan = "platinum"\n')
    with pytest.raises(ConfigError) as info:
        gc.load_global()
    assert "config.toml: invalid config: profile 'p' → plan: must be" in info.value.message


def test_duplicate_profiles_are_rejected():
    write_global('[[profile]]\nname = "p"\n[[profile]]\nname = "p"\n')
    with pytest.raises(ConfigError) as info:
        gc.load_global()
    assert "duplicate profile name: 'p'" in info.value.message
    assert "profile 'p' → name" in info.value.message


def test_edit_that_would_break_the_file_writes_nothing():
    gc.ensure_global_file()
    before = gc.global_path().read_text()
    with pytest.raises(ConfigError), gc.edit_global() as doc:
        doc["dashboard"] = {"port": "not-a-port"}
    assert gc.global_path().read_text() == before


def _register_many(args: tuple[str, str, int]) -> None:
    import os

    home, prefix, count = args
    os.environ["TUTTI_HOME"] = home
    from tutti.config import global_config

    for i in range(count):
        global_config.register_workspace(f"{prefix}-{i}", Path(home) / f"{prefix}-{i}")


def test_concurrent_registrations_lose_nothing(tutti_home):
    """Four processes registering at once: the flock serialises the read-modify-write."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        pool.map(_register_many, [(str(tutti_home), f"p{n}", 10) for n in range(4)], chunksize=1)
    names = {w.name for w in gc.registered_workspaces()}
    assert names == {f"p{n}-{i}" for n in range(4) for i in range(10)}


def test_unknown_global_keys_are_published_as_warnings():
    from tutti.config import notices

    write_global('[dashboard]\nprot = 1\n')
    seen: list[str] = []
    notices.subscribe(seen.append)
    try:
        gc.load_global()
    finally:
        notices.unsubscribe(seen.append)
    assert seen == ["config.toml: unknown key 'dashboard → prot' — did you mean 'port'?"] or \
        seen[0].endswith("unknown key 'dashboard → prot' — did you mean 'port'?")
