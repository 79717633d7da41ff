"""`tt status --all` lists a registered workspace whose tutti.toml is invalid as one error row
(it used to crash: a 5-cell row under 6 headers, IndexError). Real git, real tmux, `tt`."""

from __future__ import annotations

import json

from tutti.config.global_config import register_workspace


def test_status_all_shows_a_broken_workspace_as_a_row(fake_workspace, tmp_path, tt):
    good = fake_workspace([{"name": "implementer"}], name="good")
    register_workspace("good", good)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "tutti.toml").write_text('[workspace]\nname = "broken"\n[[agent]]\nname = 3\n')
    register_workspace("broken", broken)

    for command in ("status", "voices"):
        res = tt(command, "--all")
        assert res.returncode == 0, res.stderr
        assert "Traceback" not in res.stderr and "IndexError" not in res.stderr
        lines = res.stdout.splitlines()
        assert lines[0].split() == ["Workspace", "Agent", "Runtime", "Status", "Session", "Evidence"]
        bad = next(line for line in lines if line.startswith("broken"))
        assert "config error" in bad and "agent" in bad
        assert any(line.startswith("good") and "implementer" in line for line in lines)

    data = json.loads(tt("status", "--all", "--json").stdout)
    assert any(d.get("workspace") == "broken" and d.get("error") for d in data)
