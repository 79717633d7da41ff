"""Issue #11: every template the detector can pick has a `verify` that runs the project's own tests.
Real tiny projects; `verify` is run for real where the toolchain exists here, skipped (saying why)
where it does not."""

from __future__ import annotations

import json
import shutil

import pytest

from tutti.config import templates
from tutti.config.load import load_config_text


def _pickable() -> list[str]:
    """Templates `tt init` can choose on its own: the detectable ones and the fallback."""
    return [n for n in templates.builtin_names()
            if n == templates.FALLBACK or templates.builtin(n).meta.detect or templates.builtin(n).meta.detect_all]


def _verify_runs(repo) -> list[str]:
    from tutti.workspace import load_workspace_at

    wf = load_workspace_at(repo).config.workflow("verify")
    assert wf is not None, "tt init left no verify workflow"
    return [s.run for s in wf.steps]


def _init(tt, repo, expect: str) -> None:
    res = tt("init", "--json", cwd=repo)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["template"] == expect


def _verify(tt, repo):
    res = tt("run", "verify", "--strict", "--json", cwd=repo, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(res.stdout)


@pytest.mark.parametrize("name", _pickable())
def test_templates_state_wait_for_idle_and_fail_mode_explicitly(name, tmp_path):
    config = load_config_text(templates.render(templates.builtin(name), tmp_path), tmp_path / "tutti.toml").config
    for wf in config.workflows:
        for step in wf.steps:
            if step.type == "prompt":
                assert "wait_for_idle" in step.model_fields_set, (name, wf.name, step.id)
            if step.type == "command":
                assert "fail_mode" in step.model_fields_set, (name, wf.name, step.id)


@pytest.mark.parametrize("name", _pickable())
def test_every_template_has_a_verify_workflow(name, tmp_path):
    config = load_config_text(templates.render(templates.builtin(name), tmp_path), tmp_path / "tutti.toml").config
    assert config.workflow("verify") is not None and config.workflow("verify").steps


# -- node ---------------------------------------------------------------------------------------
PACKAGE = {"name": "tiny", "version": "1.0.0", "scripts": {"test": "node test.js", "lint": "node lint.js"}}


@pytest.mark.parametrize("lockfile, manager", [("package-lock.json", "npm"), ("pnpm-lock.yaml", "pnpm"),
                                               ("yarn.lock", "yarn")])
def test_node_package_gets_node_with_its_package_managers_scripts(tt, git_repo, lockfile, manager):
    (git_repo / "package.json").write_text(json.dumps(PACKAGE))
    (git_repo / lockfile).write_text("{}\n" if lockfile.endswith(".json") else "")
    _init(tt, git_repo, "node")
    assert _verify_runs(git_repo) == [f"{manager} test", f"{manager} run lint"]


def test_npm_default_test_script_is_not_a_test(tt, git_repo):
    (git_repo / "package.json").write_text(json.dumps(
        {"name": "x", "scripts": {"test": 'echo "Error: no test specified" && exit 1'}}))
    _init(tt, git_repo, "node")
    runs = _verify_runs(git_repo)
    assert runs and not any("test" in r for r in runs)
    if shutil.which("node"):
        _verify(tt, git_repo)


@pytest.mark.skipif(not shutil.which("npm"), reason="npm is not installed on this machine")
def test_node_verify_runs_the_packages_tests_for_real(tt, git_repo):
    (git_repo / "package.json").write_text(json.dumps(PACKAGE))
    (git_repo / "package-lock.json").write_text(json.dumps({"name": "tiny", "lockfileVersion": 3, "packages": {}}))
    (git_repo / "test.js").write_text("require('assert').strictEqual(1 + 1, 2); console.log('tests ok');\n")
    (git_repo / "lint.js").write_text("console.log('lint ok');\n")
    _init(tt, git_repo, "node")
    result = _verify(tt, git_repo)
    assert [s["status"] for s in result["steps"]] == ["success", "success"]
    (git_repo / "test.js").write_text("require('assert').strictEqual(1 + 1, 3);\n")
    failed = tt("run", "verify", "--strict", "--json", cwd=git_repo, timeout=600)
    assert failed.returncode == 1 and json.loads(failed.stdout)["failed_steps"] == [1]


# -- go -----------------------------------------------------------------------------------------
def test_go_module_gets_go(tt, git_repo):
    (git_repo / "go.mod").write_text("module example.com/tiny\n\ngo 1.21\n")
    _init(tt, git_repo, "go")
    assert _verify_runs(git_repo) == ["go vet ./...", "go test ./..."]


@pytest.mark.skipif(not shutil.which("go"), reason="go is not installed on this machine")
def test_go_verify_runs_the_modules_tests_for_real(tt, git_repo):
    (git_repo / "go.mod").write_text("module example.com/tiny\n\ngo 1.21\n")
    (git_repo / "add.go").write_text("package tiny\n\nfunc Add(a, b int) int { return a + b }\n")
    (git_repo / "add_test.go").write_text('package tiny\n\nimport "testing"\n\n'
                                          'func TestAdd(t *testing.T) { if Add(1, 2) != 3 { t.Fatal("bad") } }\n')
    _init(tt, git_repo, "go")
    _verify(tt, git_repo)


# -- rust ---------------------------------------------------------------------------------------
CARGO = '[package]\nname = "tiny"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n'
LIB = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n" \
      "    fn adds() {\n        assert_eq!(super::add(1, 2), 3);\n    }\n}\n"


def test_rust_library_crate_gets_the_rust_template(tt, git_repo):
    (git_repo / "Cargo.toml").write_text(CARGO)
    (git_repo / "src").mkdir()
    (git_repo / "src" / "lib.rs").write_text(LIB)
    _init(tt, git_repo, "rust")
    assert _verify_runs(git_repo)[0] == "cargo test --quiet"


def test_binary_crate_with_a_lib_is_still_rust_cli(tt, git_repo):
    (git_repo / "Cargo.toml").write_text(CARGO)
    (git_repo / "src").mkdir()
    (git_repo / "src" / "lib.rs").write_text(LIB)
    (git_repo / "src" / "main.rs").write_text("fn main() {}\n")
    _init(tt, git_repo, "rust-cli")


@pytest.mark.skipif(not shutil.which("cargo"), reason="cargo is not installed on this machine")
def test_rust_library_verify_runs_cargo_test_for_real(tt, git_repo, tmp_path):
    (git_repo / "Cargo.toml").write_text(CARGO)
    (git_repo / "src").mkdir()
    (git_repo / "src" / "lib.rs").write_text(LIB)
    (git_repo / ".gitignore").write_text("target/\n")
    _init(tt, git_repo, "rust")
    result = _verify(tt, git_repo)
    assert [s["step_id"] for s in result["steps"]] == ["test", "clippy"]


# -- python and the rest ------------------------------------------------------------------------
def test_python_project_without_tests_has_a_verify_that_passes(tt, git_repo):
    (git_repo / "pyproject.toml").write_text('[project]\nname = "notests"\nversion = "0"\n')
    (git_repo / "notests").mkdir()
    (git_repo / "notests" / "__init__.py").write_text("VALUE = 1\n")
    _init(tt, git_repo, "python")
    assert not any("pytest" in r for r in _verify_runs(git_repo))
    _verify(tt, git_repo)


def test_unrecognised_repo_gets_minimal_with_a_verify_that_runs(tt, git_repo):
    _init(tt, git_repo, "minimal")
    _verify(tt, git_repo)
    (git_repo / "Makefile").write_text("test:\n\t@echo make-tests-ran\n")
    assert tt("init", "--force", cwd=git_repo).returncode == 0
    assert _verify_runs(git_repo) == ["make test"]
