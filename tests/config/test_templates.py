"""Template parsing, scored detection and rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutti.config import templates
from tutti.config.load import load_config_text
from tutti.config.python_project import detect_tooling, verify_steps_toml
from tutti.errors import ConfigError


def make(root: Path, *files: str) -> Path:
    for f in files:
        target = root / f
        if f.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("")
    return root


def test_builtins_are_listed():
    names = templates.builtin_names()
    assert names == sorted(names)
    assert {"go", "gstack-startup", "minimal", "node", "python", "rust", "rust-cli"} <= set(names)


@pytest.mark.parametrize("name", ["go", "gstack-startup", "minimal", "node", "python", "rust", "rust-cli", "sdlc"])
def test_every_builtin_renders_to_a_valid_config(name, tmp_path):
    loaded = load_config_text(templates.render(templates.builtin(name), tmp_path), tmp_path / "tutti.toml")
    assert loaded.warnings == [] and loaded.template == name


def test_rust_binary_crate_picks_rust_cli_not_minimal(tmp_path):
    pick = templates.pick(make(tmp_path, "Cargo.toml", "src/main.rs"))
    assert pick.template.name == "rust-cli"
    assert pick.reason.startswith("picked 'rust-cli' (matched Cargo.toml, src/main.rs)")
    assert "gstack-startup" in pick.reason  # the runner-up is explained, not silently dropped
    assert [m.template.name for m in pick.matches] == ["rust-cli", "rust", "gstack-startup"]


def test_rust_library_crate_picks_the_rust_library_template(tmp_path):
    # issue #11: a library crate got the five-agent gstack team with no verify
    assert templates.pick(make(tmp_path, "Cargo.toml", "src/lib.rs")).template.name == "rust"


@pytest.mark.parametrize("marker", ["pyproject.toml", "setup.py", "setup.cfg", "requirements.txt"])
def test_python_markers_pick_python(tmp_path, marker):
    pick = templates.pick(make(tmp_path, marker))
    assert pick.template.name == "python"
    assert pick.reason == f"picked 'python' (matched {marker})"


def test_supporting_evidence_is_explained(tmp_path):
    pick = templates.pick(make(tmp_path, "pyproject.toml", "tests/"))
    assert pick.reason == "picked 'python' (matched pyproject.toml, tests/)"


def test_tests_dir_alone_is_not_a_python_project(tmp_path):
    pick = templates.pick(make(tmp_path, "tests/"))
    assert pick.template.name == "minimal" and pick.matches == []
    assert pick.reason.startswith("no template matched this directory; using 'minimal'")


def test_mixed_repo_prefers_the_more_specific_match(tmp_path):
    pick = templates.pick(make(tmp_path, "Cargo.toml", "src/main.rs", "pyproject.toml"))
    assert pick.template.name == "rust-cli"


def test_ties_are_broken_deterministically(tmp_path):
    a = templates.parse_template('[template]\nname = "b-tmpl"\nversion = "1"\ndetect = ["x"]\n'
                                 '# ── config below ──\n', "b")
    b = templates.parse_template('[template]\nname = "a-tmpl"\nversion = "1"\ndetect = ["x"]\n'
                                 '# ── config below ──\n', "a")
    make(tmp_path, "x")
    assert [m.template.name for m in templates.detect(tmp_path, [a, b])] == ["a-tmpl", "b-tmpl"]


def test_missing_separator_is_an_error():
    with pytest.raises(ConfigError) as info:
        templates.parse_template('[template]\nname = "x"\nversion = "1"\n[workspace]\nname = "x"\n', "custom.toml")
    assert info.value.message == "custom.toml: template file missing '# ── config below ──' separator"


def test_unknown_builtin_is_an_error():
    with pytest.raises(ConfigError) as info:
        templates.builtin("nope")
    assert info.value.message.startswith("template not found: 'nope'")


def test_render_substitutes_only_template_variables(tmp_path):
    project = tmp_path / 'we"ird'
    project.mkdir()
    t = templates.parse_template('[template]\nname = "t"\nversion = "2.0"\n# ── config below ──\n'
                                 '[workspace]\nname = "{{project_name}}"\ndescription = "{{output.x.path}} {{nope}}"\n',
                                 "t")
    text = templates.render(t, project)
    assert text.splitlines()[0] == "# template: t 2.0"
    cfg = load_config_text(text, project / "tutti.toml").config
    assert cfg.workspace.name == "we-ird"  # a plain workspace name (the quote would not be one)
    assert cfg.workspace.description == "{{output.x.path}} {{nope}}"


# -- python tooling -----------------------------------------------------------------------------
def _runs(root: Path, *, with_tests: bool = True) -> list[str]:
    if with_tests:  # a project with a test file (without one there is no pytest step)
        make(root, "tests/test_it.py")
    return [line.split("=", 1)[1].strip().strip('"') for line in verify_steps_toml(root).splitlines()
            if line.startswith("run =")]


def test_python_project_without_tests_gets_no_pytest_step(tmp_path):
    make(tmp_path, "pyproject.toml", "pkg/__init__.py")
    runs = _runs(tmp_path, with_tests=False)
    assert not any("pytest" in r for r in runs)
    assert runs and "compileall" in runs[0]  # verify still exists and checks something real
    (tmp_path / "ruff.toml").write_text("")
    assert _runs(tmp_path, with_tests=False) == ["ruff check ."]


def test_python_verify_is_pytest_only_without_linters(tmp_path):
    runs = _runs(make(tmp_path, "requirements.txt"))
    assert len(runs) == 1 and runs[0].endswith("-m pytest -q")


def test_python_verify_adds_ruff_when_configured_in_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    runs = _runs(tmp_path)
    assert runs[1] == "ruff check ."
    assert detect_tooling(tmp_path).ruff == "pyproject.toml [tool.ruff]"


def test_python_verify_prefers_ruff_over_flake8(tmp_path):
    make(tmp_path, "ruff.toml", ".flake8")
    assert [r.split()[-1] for r in _runs(tmp_path)][1:] == ["."]


def test_python_verify_uses_flake8_from_setup_cfg_and_mypy(tmp_path):
    (tmp_path / "setup.cfg").write_text("[flake8]\nmax-line-length = 100\n[mypy]\nfiles = src\n")
    runs = _runs(tmp_path)
    assert runs[1].endswith("-m flake8")
    assert runs[2].endswith("-m mypy")  # `files` is configured: no target needed


def test_python_verify_mypy_ini_without_files_targets_dot(tmp_path):
    make(tmp_path, "mypy.ini")
    assert _runs(tmp_path)[-1].endswith("-m mypy .")


@pytest.mark.parametrize("declared", [
    ('pyproject.toml', '[project]\nname = "x"\n[project.optional-dependencies]\ntest = ["pytest>=8", "pytest-xdist>=3.5"]\n'),
    ('pyproject.toml', '[dependency-groups]\ndev = ["pytest_xdist[psutil]"]\n'),
    ('requirements-dev.txt', 'pytest\npytest-xdist==3.6.1\n'),
])
def test_python_verify_runs_in_parallel_when_the_project_declares_xdist(tmp_path, declared):
    name, text = declared
    (tmp_path / name).write_text(text)
    assert _runs(tmp_path)[0].endswith("-m pytest -q -n auto")
    assert detect_tooling(tmp_path).xdist


def test_python_verify_does_not_guess_xdist_from_similar_names(tmp_path):
    (tmp_path / "requirements.txt").write_text("pytest-xdistant\npytest\n")
    assert _runs(tmp_path)[0].endswith("-m pytest -q")


def test_broken_pyproject_does_not_break_detection(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.ruff\n")
    assert len(_runs(tmp_path)) == 1
