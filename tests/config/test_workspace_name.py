"""`[workspace] name` names tmux sessions, the registry entry and `workspace/agent` references:
only a plain name is accepted (`../evil` was accepted and registered). The original's fixtures
still load; `tt init` in a directory whose name is not plain writes a plain workspace name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutti.config.global_config import load_global
from tutti.config.load import load_config_text
from tutti.errors import ConfigError

FIXTURES = Path("/work/shared/fixtures/configs")
AGENT = '[[agent]]\nname = "a"\nruntime = "claude-code"\n'


@pytest.mark.parametrize("name", ["../evil", "a/b", ".hidden", "-flag", "two words", "x:y", "tab\tname", "ü"])
def test_non_plain_names_are_refused_with_key_path_and_fix(name, tmp_path):
    text = f'[workspace]\nname = "{name}"\n{AGENT}'.replace("\t", "\\t")
    with pytest.raises(ConfigError) as err:
        load_config_text(text, tmp_path / "tutti.toml")
    message = err.value.message
    assert "workspace → name" in message and "\n" not in message
    assert "letters, digits" in (err.value.hint or "") + message


@pytest.mark.parametrize("name", ["app", "my-project", "my_project", "v1.2", "_x", "2024app"])
def test_plain_names_load(name, tmp_path):
    loaded = load_config_text(f'[workspace]\nname = "{name}"\n{AGENT}', tmp_path / "tutti.toml")
    assert loaded.config.workspace.name == name


def test_the_originals_fixture_names_still_load(tmp_path):
    checked = 0
    for path in sorted(FIXTURES.glob("*.toml")):
        text = path.read_text()
        if "[workspace]" not in text or "{{" in text:
            continue
        try:
            load_config_text(text, tmp_path / "tutti.toml")
        except ConfigError as exc:  # some fixtures have other problems (the original's own tests say so)
            assert "workspace → name" not in exc.message, (path.name, exc.message)
        checked += 1
    assert checked >= 3


def test_up_does_not_register_an_evil_name(git_repo, tt):
    (git_repo / "tutti.toml").write_text(f'[workspace]\nname = "../evil"\n{AGENT}')
    res = tt("up", cwd=git_repo)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert "error[config]" in res.stderr and "workspace → name" in res.stderr
    assert all(w.name != "../evil" for w in load_global().registered_workspaces)


def test_init_in_a_directory_with_spaces_writes_a_plain_name(tmp_path, tt):
    root = tmp_path / "My Project (copy)"
    root.mkdir()
    res = tt("init", "--template", "minimal", cwd=root)
    assert res.returncode == 0, res.stderr
    assert 'name = "My-Project-copy"' in (root / "tutti.toml").read_text()


def test_schema_publishes_the_same_rule(tmp_path, tt):
    import json
    import re

    name = json.loads(tt("schema", cwd=tmp_path).stdout)["$defs"]["WorkspaceSection"]["properties"]["name"]
    pattern = re.compile(name["pattern"])
    assert pattern.match("my-project") and not pattern.match("../evil") and not pattern.match(".hidden")
