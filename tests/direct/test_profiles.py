"""Which providers a direct agent uses, and one-line errors naming the key to fix."""

from __future__ import annotations

import pytest

from tutti.direct.profiles import provider_settings
from tutti.errors import ConfigError

from .conftest import SECRET, api_profile


def test_named_profile_first_then_other_api_profiles_by_priority(direct_ws, model_server):
    srv = model_server()
    profiles = (
        api_profile("c", srv, priority=3)
        + api_profile("a", srv, priority=1)
        + api_profile("b", srv, kind="anthropic", model="claude-haiku-4-5", priority=2)
        + '\n[[profile]]\nname = "claude-max"\nprovider = "anthropic"\nplan = "max"\n'
    )
    ws = direct_ws('[[agent]]\nname = "bot"\nprovider = "c"\nmodel = "gpt-4.1"\n', profiles)
    chain = provider_settings(ws, ws.config.agent("bot"))
    assert [s.profile for s in chain] == ["c", "a", "b"]  # the plan = "max" profile is not an API profile
    assert chain[0].model == "gpt-4.1"  # the agent's model wins on its own profile
    assert chain[2].kind == "anthropic" and chain[2].model == "claude-haiku-4-5"
    assert (
        chain[0].api_key == SECRET and SECRET not in repr(chain[0]) and SECRET not in str(chain[0].to_dict())
    )


def test_provider_kind_with_agent_endpoint(direct_ws, model_server):
    srv = model_server()
    ws = direct_ws(
        '[[agent]]\nname = "bot"\nprovider = "ollama"\nmodel = "qwen2.5-coder"\n'
        f'base_url = "{srv.base_url}"\n',
        "",
    )
    (s,) = provider_settings(ws, ws.config.agent("bot"))
    assert (s.kind, s.model, s.base_url, s.api_key) == ("ollama", "qwen2.5-coder", srv.base_url, None)


@pytest.mark.parametrize(
    "agent, profiles, needle",
    [
        ('provider = "nope"\n', "", "provider 'nope' is neither a global profile nor a provider kind"),
        ('provider = "openai"\n', "", "provider = 'openai' needs `model`"),
        (
            'provider = "openai"\nmodel = "gpt-4o"\napi_key_env = "NOT_SET_ANYWHERE"\n',
            "",
            "api_key_env names $NOT_SET_ANYWHERE, which is not set",
        ),
        (
            'provider = "p"\n',
            '[[profile]]\nname = "p"\nprovider = "anthropic"\nplan = "api"\n',
            "profile 'p': no model",
        ),
        (
            'provider = "max"\n',
            '[[profile]]\nname = "max"\nprovider = "anthropic"\nplan = "max"\n',
            "provider 'max' is a plan = \"max\" profile",
        ),
    ],
)
def test_misconfiguration_is_one_clear_config_error(direct_ws, agent, profiles, needle):
    ws = direct_ws('[[agent]]\nname = "bot"\n' + agent, profiles)
    with pytest.raises(ConfigError) as info:
        provider_settings(ws, ws.config.agent("bot"))
    assert needle in info.value.message and info.value.hint


def test_tt_replay_of_an_unknown_run_is_a_not_found_error(direct_ws, model_server, git_repo, tt):
    direct_ws('[[agent]]\nname = "bot"\nprovider = "openai"\nmodel = "gpt-4o"\n', "")
    out = tt("replay", "run_missing", cwd=git_repo)
    assert out.returncode == 1
    assert (
        out.stderr.startswith("error[not_found]: run 'run_missing' not found")
        and "Traceback" not in out.stderr
    )


def test_direct_send_to_a_cli_agent_is_a_usage_error(direct_ws, git_repo, tt):
    direct_ws('[[agent]]\nname = "cli"\nruntime = "claude-code"\n', "")
    out = tt("send", "cli", "--direct", "hello", cwd=git_repo)
    assert out.returncode == 2
    assert (
        "error[usage]: agent 'cli' is not an API-direct agent" in out.stderr and "Traceback" not in out.stderr
    )


def test_a_misspelt_tool_name_in_policy_is_a_config_error(direct_ws, model_server, git_repo, tt):
    srv = model_server()
    direct_ws(
        '[[agent]]\nname = "bot"\nprovider = "main"\nallowed_tools = ["read_file", "shel"]\n',
        api_profile("main", srv),
    )
    out = tt("send", "bot", "--direct", "hi", cwd=git_repo)
    assert out.returncode == 2
    assert (
        "agent 'bot' → allowed_tools: unknown tool 'shel'" in out.stderr
        and "did you mean 'shell'" in out.stderr
    )
    assert srv.requests() == []
