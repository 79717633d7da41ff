"""The original's SDLC workflows (`shared/fixtures/configs/tutti.toml` and
`docs_examples_tutti-codex-sdlc.toml`) plan with `tt run --dry-run` and run to success on fake
agents: `cargo run -- issue-claim ...` claims a real issue of the scripted forge through
`tt issue-claim`, the repository's automation scripts are stand-ins, every agent is the fake
agent (the planner writes its JSON plan, the reviewer its verdict)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from tests.loop.conftest import git
from tests.shared_fixtures import FIXTURES

HERE = Path(__file__).parent
CARGO = """#!/bin/sh
# `cargo run --quiet -- ARGS` is the original's binary: Tutti's `tt ARGS`; `cargo test` passes.
if [ "$1" = "run" ]; then
  while [ "$1" != "--" ] && [ $# -gt 0 ]; do shift; done; shift
  exec {python} -m tutti "$@"
fi
exit 0
"""
PLAN = {"issue_number": 1, "issue_title": "Add a greeting", "scope_summary": "add greet()",
        "target_files": ["src/greet.rs"], "implementation_tasks": ["write greet"], "test_tasks": ["test greet"],
        "docs_release_tasks": [], "risks": [], "first_slice": "greet() returns hello"}
SCRIPTS = {
    "planner": {"rule": [{"match": r"plan_issue\.json", "write": [
        {"path": ".tutti/state/auto/plan_issue.json", "content": json.dumps(PLAN)}]}]},
    "implementer": {"rule": [{"match": r"Implement|implement", "once": True,
                              "write": [{"path": "src/greet.rs", "content": "pub fn greet() -> &'static str { \"hello\" }\n"}],
                              "commit": "greet: first slice"}]},
    "reviewer": {"rule": [{"match": r"write your verdict as JSON to (\S+) with", "write": [
        {"path": "{1}", "content": json.dumps({"verdict": "approve", "summary": "small and tested", "findings": []})}]}]},
}


def fixture_workspace(root: Path, fixture: str, forge) -> Path:
    text = (FIXTURES / "configs" / fixture).read_text()
    text = re.sub(r'runtime = "[^"]+"', 'runtime = "fake"', text)
    text = re.sub(r'\[workspace\.auth\]\ndefault_profile = "[^"]+"\n', "", text)
    records = root / ".records"
    records.mkdir()

    def with_env(m: re.Match) -> str:
        name = m.group(1)
        script = records / f"{name}.script.json"
        script.write_text(json.dumps({"work_secs": 0.2, **SCRIPTS.get(name, {})}))
        return (f'{m.group(0)}env = {{ TUTTI_FAKE_SCRIPT = "{script}", '
                f'TUTTI_FAKE_RECORD = "{records / (name + ".jsonl")}" }}\n')

    text = re.sub(r'\[\[agent\]\]\nname = "([\w-]+)"\n', with_env, text)
    (root / "tutti.toml").write_text(text)
    shutil.copytree(HERE / "fixture_repo" / "scripts", root / "scripts")
    for sh in (root / "scripts" / "automation").glob("*.sh"):
        sh.chmod(0o755)
    exclude = root / ".git" / "info" / "exclude"
    exclude.write_text(exclude.read_text() + "tutti.toml\n.records/\n.tutti/\n")
    git(root, "add", "scripts")
    git(root, "commit", "-q", "-m", "automation scripts")
    meta = forge.create_repo("acme/app")
    git(root, "remote", "add", "origin", meta["clone_url"])
    forge.create_issue("acme/app", "Add a greeting", body="greet() returns hello", labels=["agent-ops"])
    return root


@pytest.fixture
def fixture_env(tmp_path, monkeypatch, forge, tmux_socket):
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "cargo").write_text(CARGO.format(python=sys.executable))
    (bin_dir / "cargo").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    home = tmp_path / "home"  # the workflows' `bash -lc` resets PATH from /etc/profile; the profile puts it back
    home.mkdir()
    (home / ".bash_profile").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/app")
    return forge


@pytest.mark.parametrize("fixture,workflow", [("tutti.toml", "sdlc-auto"),
                                              pytest.param("docs_examples_tutti-codex-sdlc.toml", "sdlc-auto",
                                                           marks=pytest.mark.extended)])  # same shape, Codex roles
def test_original_sdlc_workflow_plans_and_runs_on_fake_agents(fixture, workflow, git_repo, fixture_env, tt):
    root = fixture_workspace(git_repo, fixture, fixture_env)
    for name in json.loads(tt("run", "--list", "--json", cwd=root).stdout):
        if name["name"].startswith("sdlc") and name["name"] != "sdlc-gstack":
            assert tt("up", "implementer", cwd=root).returncode == 0  # the plan resolves agent worktrees
            plan = tt("run", name["name"], "--dry-run", "--json", cwd=root)
            assert plan.returncode == 0, plan.stderr
    res = tt("run", workflow, "--json", cwd=root, timeout=900)
    result = json.loads(res.stdout) if res.stdout.strip().startswith("{") else {}
    assert res.returncode == 0, json.dumps([(s["step_index"], s.get("step_id"), s["status"], s.get("message"))
                                            for s in result.get("steps", [])], indent=1) + res.stderr[-2000:]
    selected = json.loads((root / ".tutti/state/auto/selected_issue.json").read_text())
    assert selected["issue_number"] == 1 and selected["claim_status"] == "active"  # claimed on the forge
    ran = {s["step_id"]: s["status"] for s in result["steps"]}
    assert all(status in ("success", "warning") for status in ran.values()), ran
    assert ran["final_review"] == "success"
    reviewer_prompts = (root / ".records" / "reviewer.jsonl").read_text()
    assert "verdict" in reviewer_prompts
