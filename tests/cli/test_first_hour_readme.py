"""Issue #11: the README's first command is a quick demo (this repo's own verify runs ruff and a
fast slice of the tests), and the second command — what `.ci/run` runs — stays the full suite."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_first_command_runs_the_quick_verify_and_the_second_the_full_suite():
    first, second = _commands()[:2]
    assert first.endswith("tt run verify --strict")
    assert second == "python3 -m pip install -q -e '.[test]' && python3 -m pytest -n 4"
    assert second in (REPO / ".ci" / "run").read_text()


def test_this_repos_verify_is_a_slice_not_the_whole_suite(tt):
    plan = json.loads(tt("run", "verify", "--dry-run", "--json", cwd=REPO).stdout)
    tests = [s["command"] for s in plan["steps"] if "pytest" in s["command"]]
    assert tests, plan
    for command in tests:
        paths = [w for w in command.split() if w.startswith("tests/")]
        assert paths and "tests/" not in paths  # named slices, never the whole tests/ tree
    assert all(s["fail_mode"] == "closed" for s in plan["steps"])
