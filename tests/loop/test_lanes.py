"""Lane configs: the implementer cloned per lane, `{{item.*}}` filled in — shell-quoted in commands."""

from __future__ import annotations

import json

import pytest
from tests.loop.conftest import add_items, git, instant_workspace

from tutti.errors import ConfigError
from tutti.intake.base import WorkItem
from tutti.loop.lanes import lane_config, render_item


def test_an_issue_title_cannot_inject_shell_syntax_into_a_command_step(git_repo, tt, tmp_path):
    root = instant_workspace(git_repo, lanes=1)
    marker = tmp_path / "pwned"
    [key] = add_items(root, [f"add mod 1'; touch {marker}; echo '$(touch {marker})"])
    res = tt("loop", "--once", "--json", cwd=root, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["merged"] == 1
    assert not marker.exists()
    assert f"touch {marker}" in git(root, "log", "-1", "--format=%s", "main")  # the title, verbatim


def test_lane_config_clones_the_implementer_and_retargets_its_steps(git_repo):
    from tutti.workspace import load_workspace_at

    ws = load_workspace_at(instant_workspace(git_repo, lanes=3))
    item = WorkItem(source="queue", id="7", title="Fix it", body="details", scope="instant")
    cfg = lane_config(ws.config, ws.config.loop, "implementer-3", item)
    clone = cfg.agent("implementer-3")
    assert clone is not None and clone.branch_name() == "tutti/implementer-3" and cfg.agent("implementer")
    wf = cfg.workflow("build@queue:instant#7")
    assert wf.steps[0].agent == "implementer-3" and "mod_7.py" in wf.steps[0].run
    assert ws.config.agent("implementer-3") is None  # tutti.toml's config is untouched


def test_an_unknown_item_field_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"\{\{item.colour\}\}"):
        render_item("paint {{item.colour}}", {"title": "x"}, quote=False)
