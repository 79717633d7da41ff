"""Port of the original's `src/template/mod.rs` tests (nutthouse/tutti @ 0935044), driven through
`tt init` as a user runs it: a custom template file, the built-ins, detection on an empty dir."""

from __future__ import annotations

import json

import pytest

TEST_TEMPLATE = '''
[template]
name = "test-template"
version = "0.1.0"
description = "A test template"
detect = ["Cargo.toml"]

[template.roles.backend]
default_runtime = "claude-code"
description = "Backend developer"

[template.roles.reviewer]
default_runtime = "codex"
description = "Code reviewer"

# ── config below ──
[workspace]
name = "{{project_name}}"
description = "Generated from test-template"

[defaults]
worktree = true

[roles]
backend = "claude-code"
reviewer = "codex"

[[agent]]
name = "backend"
role = "backend"
prompt = "You own the backend."

[[agent]]
name = "reviewer"
role = "reviewer"
prompt = "You review code."
'''


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "my-app"
    root.mkdir()
    return root


def init_with(tt, project, text: str, name: str = "t.toml"):
    path = project.parent / name
    path.write_text(text)
    res = tt("init", "-t", str(path), "--json", cwd=project)
    return res, (json.loads(res.stdout) if res.returncode == 0 else None)


def test_parse_template_extracts_metadata(tt, project):
    """upstream: src/template/mod.rs::tests::parse_template_extracts_metadata"""
    res, data = init_with(tt, project, TEST_TEMPLATE)
    assert res.returncode == 0, res.stderr
    assert (data["template"], data["version"], data["description"]) == ("test-template", "0.1.0", "A test template")
    assert {r["role"]: r["runtime"] for r in data["roles"]} == {"backend": "claude-code", "reviewer": "codex"}


def test_generate_config_substitutes_variables_and_body(tt, project):
    """upstream: src/template/mod.rs::tests::parse_template_extracts_config_body,
    src/template/mod.rs::tests::generate_config_substitutes_variables"""
    res, _ = init_with(tt, project, TEST_TEMPLATE)
    assert res.returncode == 0, res.stderr
    text = (project / "tutti.toml").read_text()
    assert text.startswith("# template: test-template 0.1.0\n")
    assert 'name = "my-app"' in text
    assert "{{project_name}}" not in text
    assert "[template]" not in text and "[workspace]" in text


def test_generated_config_parses_as_tutti_config(tt, project):
    """upstream: src/template/mod.rs::tests::generated_config_parses_as_tutti_config"""
    from tutti.config.load import load_config

    assert init_with(tt, project, TEST_TEMPLATE)[0].returncode == 0
    cfg = load_config(project / "tutti.toml").config
    assert cfg.workspace.name == "my-app"
    assert [(a.name, a.role) for a in cfg.agents] == [("backend", "backend"), ("reviewer", "reviewer")]
    assert cfg.roles == {"backend": "claude-code", "reviewer": "codex"}


def test_parse_template_missing_separator_errors(tt, project):
    """upstream: src/template/mod.rs::tests::parse_template_missing_separator_errors"""
    res, _ = init_with(tt, project, '[template]\nname = "bad"\nversion = "0.1.0"\ndescription = "x"\n'
                                    '[workspace]\nname = "test"\n')
    assert res.returncode != 0
    assert "separator" in res.stderr and "Traceback" not in res.stderr
    assert not (project / "tutti.toml").exists()


def test_parse_template_missing_metadata_errors(tt, project):
    """upstream: src/template/mod.rs::tests::parse_template_missing_metadata_errors"""
    res, _ = init_with(tt, project, '# ── config below ──\n[workspace]\nname = "test"\n')
    assert res.returncode != 0
    assert "template" in res.stderr and "Traceback" not in res.stderr


def test_detect_templates_on_empty_dir(tt, project):
    """upstream: src/template/mod.rs::tests::detect_templates_on_empty_dir — nothing matches an
    empty directory; `tt init` then falls back to `minimal` and says so."""
    res = tt("init", "--json", cwd=project)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["matches"] == []
    assert data["template"] == "minimal" and "no template matched" in data["reason"]


def test_builtin_templates_are_valid(tt, tmp_path):
    """upstream: src/template/mod.rs::tests::builtin_templates_are_valid — every built-in renders
    a tutti.toml that loads and validates (ours has more built-ins than the original's three)."""
    from tutti.config.load import load_config

    listed = json.loads(tt("init", "--list", "--json").stdout)
    names = [t["name"] for t in listed]
    assert {"gstack-startup", "rust-cli", "minimal"} <= set(names)
    for name in names:
        root = tmp_path / f"p-{name}"
        root.mkdir()
        res = tt("init", "-t", name, "--json", cwd=root)
        assert res.returncode == 0, (name, res.stderr)
        assert json.loads(res.stdout)["template"] == name
        assert load_config(root / "tutti.toml").config.workspace.name == f"p-{name}"
