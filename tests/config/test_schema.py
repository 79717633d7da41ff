"""`tt schema` prints a valid JSON Schema that accepts the real configs and rejects bad ones."""

from __future__ import annotations

import json
import tomllib

import jsonschema
import pytest
from tests.config.conftest import FIXTURES

from tutti.config import templates


@pytest.fixture(scope="module")
def schema() -> dict:
    from tutti.config.schema import tutti_schema

    return tutti_schema()


def test_tt_schema_prints_valid_json_schema(tt, tmp_path):
    result = tt("schema", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert data["title"] == "tutti.toml"
    jsonschema.Draft202012Validator.check_schema(data)
    assert {"workspace", "agent", "workflow", "runtime", "hook", "webhook", "roles"} <= set(data["properties"])
    assert data["required"] == ["workspace"]


@pytest.mark.parametrize("name", ["tutti.toml", "docs_examples_tutti-codex-sdlc.toml"])
def test_schema_accepts_fixture_configs(schema, name):
    jsonschema.validate(tomllib.loads((FIXTURES / name).read_text()), schema)


@pytest.mark.parametrize("name", ["go", "gstack-startup", "minimal", "node", "python", "rust", "rust-cli"])
def test_schema_accepts_every_builtin_template(schema, name, tmp_path):
    jsonschema.validate(tomllib.loads(templates.render(templates.builtin(name), tmp_path)), schema)


@pytest.mark.parametrize("doc", [
    {"workspace": {"name": 3}},
    {"agent": [{"name": "a"}]},
    {"workspace": {"name": "x"}, "workflow": [{"name": "w", "step": [{"type": "shell", "run": "x"}]}]},
    {"workspace": {"name": "x"}, "workflow": [{"name": "w", "step": [{"type": "command", "fail_mode": "soft",
                                                                       "run": "x"}]}]},
])
def test_schema_rejects_what_the_loader_rejects(schema, doc):
    assert not jsonschema.Draft202012Validator(schema).is_valid(doc)


def test_schema_has_descriptions_and_no_nulls(schema):
    text = json.dumps(schema)
    assert '"type": "null"' not in text
    assert schema["properties"]["roles"]["description"].startswith("Role → runtime mapping")
    step = schema["$defs"]["CommandStep"]["properties"]
    assert "depends_on" in step and step["depends_on"]["description"].startswith("1-based")
