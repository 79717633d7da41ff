"""Issue #11 §2: `{workspace}` in artifact_glob is the workspace *name*; a partial `# template:`
tag records nothing in automation-runs.jsonl (both as in the original)."""

from __future__ import annotations

import json

from tutti.workflows.artifacts import expand_glob

RUN = '[workspace]\nname = "tagged"\n[[workflow]]\nname = "w"\n[[workflow.step]]\ntype = "command"\nrun = "true"\n'


def test_workspace_placeholder_is_the_workspace_name(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert expand_glob("~/.gstack/projects/{workspace}/*-design-*.md", workspace_root=tmp_path / "repo",
                       workspace_name="my-app", agent="planner") == f"{tmp_path}/home/.gstack/projects/my-app/*-design-*.md"


def _last_record(tt, repo, first_line: str) -> dict:
    (repo / "tutti.toml").write_text(first_line + "\n" + RUN)
    assert tt("run", "w", cwd=repo).returncode == 0
    lines = (repo / ".tutti" / "state" / "automation-runs.jsonl").read_text().splitlines()
    return json.loads(lines[-1])


def test_full_template_tag_is_recorded(tt, git_repo):
    record = _last_record(tt, git_repo, "# template: python 0.1.0")
    assert (record["template_id"], record["template_version"]) == ("python", "0.1.0")


def test_partial_template_tag_records_nothing(tt, git_repo):
    record = _last_record(tt, git_repo, "# template: python")
    assert "template_id" not in record and "template_version" not in record
