"""`tt init` end to end, as a user runs it (subprocess, real git repos, real global config)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from tutti.config.load import load_config

PASSING_TEST = "def test_ok():\n    assert 1 + 1 == 2\n"
FAILING_TEST = "def test_broken():\n    assert 1 + 1 == 3\n"


def python_repo(repo: Path, test_body: str = PASSING_TEST) -> Path:
    (repo / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0.1.0"\n')
    (repo / "tests").mkdir()
    (repo / "tests" / "test_demo.py").write_text(test_body)
    return repo


def registry(tutti_home: Path) -> list[dict]:
    return tomllib.loads((tutti_home / "config.toml").read_text()).get("registered_workspace", [])


def test_init_in_a_python_repo_picks_python_and_explains_why(tt, git_repo, tutti_home):
    python_repo(git_repo)
    result = tt("init", cwd=git_repo)
    assert result.returncode == 0, result.stderr
    assert "picked 'python' (matched pyproject.toml, tests/)" in result.stdout
    assert "tt run verify" in result.stdout
    text = (git_repo / "tutti.toml").read_text()
    assert text.splitlines()[0] == "# template: python 0.1.0"
    loaded = load_config(git_repo / "tutti.toml")
    assert loaded.config.workspace.name == "repo"
    assert [s.run.split(" -m ")[-1] for s in loaded.config.workflow("verify").steps] == ["pytest -q"]
    assert (git_repo / ".gitignore").read_text() == ".tutti/\n"
    assert registry(tutti_home) == [{"name": "repo", "path": str(git_repo.resolve())}]


def test_generated_python_verify_runs_the_projects_tests(tt, git_repo):
    python_repo(git_repo)
    assert tt("init", cwd=git_repo).returncode == 0
    ok = tt("run", "verify", "--strict", cwd=git_repo, timeout=300)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (git_repo / "tests" / "test_demo.py").write_text(FAILING_TEST)
    failed = tt("run", "verify", "--strict", cwd=git_repo, timeout=300)
    assert failed.returncode == 1
    assert "tests" in failed.stdout + failed.stderr  # names the failing step


def test_init_in_a_cargo_binary_repo_picks_rust_cli(tt, git_repo):
    (git_repo / "Cargo.toml").write_text('[package]\nname = "demo"\nversion = "0.1.0"\n')
    (git_repo / "src").mkdir()
    (git_repo / "src" / "main.rs").write_text("fn main() {}\n")
    result = tt("init", cwd=git_repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("picked 'rust-cli' (matched Cargo.toml, src/main.rs)")
    assert (git_repo / "tutti.toml").read_text().startswith("# template: rust-cli 0.1.0\n")


def test_init_refuses_to_overwrite_without_force(tt, git_repo):
    (git_repo / "tutti.toml").write_text("# mine\n")
    result = tt("init", cwd=git_repo)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == f"error[config]: tutti.toml already exists in {git_repo.resolve()}"
    assert "--force" in result.stderr
    assert (git_repo / "tutti.toml").read_text() == "# mine\n"


def test_force_overwrites_and_keeps_gitignore_single(tt, git_repo):
    (git_repo / ".gitignore").write_text("target/")  # no trailing newline
    assert tt("init", "--template", "minimal", cwd=git_repo).returncode == 0
    result = tt("init", "--force", "--template", "rust-cli", "--json", cwd=git_repo)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["template"] == "rust-cli" and data["overwritten"] is True and data["gitignore"] == "unchanged"
    assert data["reason"] == "using template 'rust-cli' (requested with --template)"
    assert (git_repo / ".gitignore").read_text() == "target/\n.tutti/\n"
    assert (git_repo / "tutti.toml").read_text().startswith("# template: rust-cli")


def test_existing_tutti_ignore_rule_is_not_duplicated(tt, git_repo):
    (git_repo / ".gitignore").write_text("/.tutti\n*.pyc\n")
    data = json.loads(tt("init", "--json", cwd=git_repo).stdout)
    assert data["gitignore"] == "unchanged"
    assert (git_repo / ".gitignore").read_text() == "/.tutti\n*.pyc\n"


def test_custom_template_path(tt, git_repo, tmp_path):
    custom = tmp_path / "team.toml"
    custom.write_text('[template]\nname = "team"\nversion = "3.1"\ndescription = "ours"\n'
                      '[template.roles.dev]\ndefault_runtime = "aider"\n'
                      '# ── config below ──\n[workspace]\nname = "{{project_name}}-team"\n'
                      '[roles]\ndev = "aider"\n[[agent]]\nname = "dev"\nrole = "dev"\n')
    result = tt("init", "--template", str(custom), cwd=git_repo)
    assert result.returncode == 0, result.stderr
    cfg = load_config(git_repo / "tutti.toml").config
    assert cfg.workspace.name == "repo-team" and cfg.resolved_runtime(cfg.agent("dev")) == "aider"
    assert (git_repo / "tutti.toml").read_text().startswith("# template: team 3.1\n")


def test_custom_template_relative_path_and_missing_separator(tt, git_repo):
    (git_repo / "bad.toml").write_text('[template]\nname = "bad"\nversion = "1"\n[workspace]\nname = "x"\n')
    result = tt("init", "-t", "bad.toml", cwd=git_repo)
    assert result.returncode == 2
    assert "template file missing '# ── config below ──' separator" in result.stderr
    assert not (git_repo / "tutti.toml").exists()


def test_invalid_generated_config_is_refused(tt, git_repo):
    (git_repo / "t.toml").write_text('[template]\nname = "t"\nversion = "1"\n# ── config below ──\n'
                                     '[workspace]\nname = "x"\n[[agent]]\nname = "a"\nruntime = "vim"\n')
    result = tt("init", "-t", "./t.toml", cwd=git_repo)
    assert result.returncode == 2
    assert "generated config from template 't' is invalid" in result.stderr
    assert "agent 'a' uses unknown runtime 'vim'" in result.stderr
    assert not (git_repo / "tutti.toml").exists()


def test_unknown_builtin_template(tt, git_repo):
    result = tt("init", "--template", "nope", cwd=git_repo)
    assert result.returncode == 2
    assert "template not found: 'nope'" in result.stderr


def test_init_outside_git_works_and_warns(tt, tmp_path, tutti_home):
    plain = tmp_path / "plain"
    plain.mkdir()
    result = tt("init", cwd=plain)
    assert result.returncode == 0, result.stderr
    assert "no template matched this directory; using 'minimal'" in result.stdout
    assert "not a git repository" in result.stderr
    assert (plain / ".gitignore").read_text() == ".tutti/\n"
    assert registry(tutti_home)[0]["name"] == "plain"


def test_registration_keeps_global_comments(tt, git_repo, tutti_home):
    (tutti_home / "config.toml").write_text("# keep me\n[dashboard]\nport = 5050  # my port\n")
    assert tt("init", cwd=git_repo).returncode == 0
    text = (tutti_home / "config.toml").read_text()
    assert text.startswith("# keep me\n[dashboard]\nport = 5050  # my port\n")
    assert registry(tutti_home) == [{"name": "repo", "path": str(git_repo.resolve())}]


def test_list_templates(tt, tmp_path):
    result = tt("init", "--list", "--json", cwd=tmp_path)
    assert result.returncode == 0
    names = [t["name"] for t in json.loads(result.stdout)]
    assert names == sorted(names) and {"go", "gstack-startup", "minimal", "node", "python", "rust", "rust-cli"} <= set(names)
    assert not (tmp_path / "tutti.toml").exists()


def test_custom_template_from_home_relative_path(tt, git_repo, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "t.toml").write_text('[template]\nname = "t"\nversion = "1"\n# ── config below ──\n'
                                 '[workspace]\nname = "{{project_name}}"\n')
    result = tt("init", "-t", "~/t.toml", cwd=git_repo, env={"HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert (git_repo / "tutti.toml").read_text().startswith("# template: t 1\n")
