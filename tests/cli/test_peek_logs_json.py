"""`tt peek --json` (agent, lines, captured_at), `tt logs --json` (agent, lines; not with -f),
`tt schema --json` (a no-op: its output is JSON already). Real tmux, the fake agent, `tt`."""

from __future__ import annotations

import json
from datetime import datetime

from tests.helpers import wait_until


def test_peek_and_logs_json(fake_workspace, tt):
    root = fake_workspace([{"name": "implementer", "worktree": False}])
    assert tt("up", cwd=root).returncode == 0

    def screen():
        res = tt("peek", "implementer", "--json", cwd=root)
        assert res.returncode == 0, res.stderr
        data = json.loads(res.stdout)
        return data if any(line.strip() for line in data["lines"]) else None

    data = wait_until(screen)
    assert data["agent"] == "implementer" and isinstance(data["lines"], list)
    assert datetime.fromisoformat(data["captured_at"].replace("Z", "+00:00"))
    plain = tt("peek", "implementer", cwd=root).stdout.splitlines()
    assert [line for line in data["lines"] if line.strip()][0] in plain

    log = root / ".tutti" / "logs" / "implementer.log"
    wait_until(lambda: log.exists() and log.read_text().strip())
    res = tt("logs", "implementer", "--json", "-l", "3", cwd=root)
    assert res.returncode == 0, res.stderr
    logs = json.loads(res.stdout)
    assert logs["agent"] == "implementer" and 0 < len(logs["lines"]) <= 3
    assert all(isinstance(line, str) for line in logs["lines"])

    both = tt("logs", "implementer", "--json", "-f", cwd=root)
    assert both.returncode != 0 and "--json" in both.stderr and "Traceback" not in both.stderr
    assert tt("down", cwd=root).returncode == 0


def test_schema_accepts_json(tmp_path, tt):
    res = tt("schema", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == json.loads(tt("schema", cwd=tmp_path).stdout)
