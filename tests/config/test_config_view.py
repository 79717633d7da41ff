"""The read-only view of a validated config that read commands get from the cache
(`tutti.config.view`): the same fields and values as the model, the same lookups, nothing else."""

from __future__ import annotations

import json

import pytest
from tests.config.conftest import FIXTURES

from tutti.config import view
from tutti.config.load import load_config_text

EXTRAS = '''
[roles]
critic = "claude-code"

[[runtime]]
name = "mine"
command = "my-cli --fast"
idle = ["^> $"]

[[agent]]
name = "via-role"
role = "critic"
worktree = false
branch = "feat/x"
env = { A = "1", "$model" = "not a tag" }
surprise = { nested = true }

[pricing.my-model]
input_per_mtok = 1.5
output_per_mtok = 3.0
'''


def _plain(obj):
    """A view tree back to plain JSON values (to compare with the model's own dump)."""
    if isinstance(obj, view.ConfigView):
        return {k: _plain(v) for k, v in obj._fields.items()}
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


@pytest.fixture(params=["tutti.toml", "docs_examples_tutti-codex-sdlc.toml"])
def config(request):
    text = (FIXTURES / request.param).read_text(encoding="utf-8") + EXTRAS
    return load_config_text(text, FIXTURES / request.param).config


def test_the_view_has_every_field_and_value_of_the_model(config):
    cached = view.load(json.loads(json.dumps(view.dump(config))))  # through JSON, as on disk
    assert _plain(cached) == config.model_dump(mode="json")
    assert cached.engine.kind == config.engine.kind and cached.defaults.runtime == config.defaults.runtime
    assert cached.pricing["my-model"].output_per_mtok == 3.0  # a mapping of models
    agent = cached.agent("via-role")
    assert agent.env == {"A": "1", "$model": "not a tag"}  # a plain mapping stays a dict
    assert agent.surprise == {"nested": True}  # an unknown key, as the model keeps it
    assert [r.name for r in cached.runtimes] == [r.name for r in config.runtimes]


def test_the_lookups_are_the_models_own(config):
    cached = view.load(view.dump(config))
    for model_agent in config.agents:
        agent = cached.agent(model_agent.name)
        assert cached.resolved_runtime(agent) == config.resolved_runtime(model_agent)
        assert cached.uses_worktree(agent) == config.uses_worktree(model_agent)
        assert agent.branch_name() == model_agent.branch_name()
    assert cached.resolved_runtime(cached.agent("via-role")) == "claude-code"
    assert cached.agent("nobody") is None
    assert [w.name for w in cached.workflows] == [w.name for w in config.workflows]
    assert cached.workflow(config.workflows[0].name).name == config.workflows[0].name


def test_the_view_is_read_only_and_never_guesses(config):
    cached = view.load(view.dump(config))
    with pytest.raises(AttributeError, match="read-only"):
        cached.defaults = None
    with pytest.raises(AttributeError, match="no attribute 'model_copy'"):
        cached.model_copy()
    with pytest.raises(AttributeError):
        cached.workspace.env.variables()  # a model method the view does not carry


@pytest.mark.parametrize("tree", [{"fields": {}}, {"$model": "TuttiConfig"}, {"$model": 1, "fields": {}}, {}])
def test_anything_but_a_dumped_tree_is_refused(tree):
    with pytest.raises(ValueError):
        view.load(tree)
