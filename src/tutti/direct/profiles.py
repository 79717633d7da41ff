"""Which provider profiles an API-direct agent uses, in failover order, and their credentials.

Resolution for an agent with `provider = P`:
- P names a global profile (`[[profile]] name = P`): that profile first;
- P is a provider kind (`openai`, `anthropic`, `ollama`, …): an ad-hoc profile from the agent's
  own `model`, `base_url`, `api_key_env`;
- then every other global profile with `plan = "api"`, by `priority` (lower first), as
  failover targets.
The key is read from the environment variable *named* by `api_key_env` (the process
environment first, then the agent's `env` and `[workspace.env]`). The key itself never appears
in config, events or errors.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from tutti.direct.providers import PROVIDER_KINDS, ProviderSettings, default_base_url
from tutti.errors import ConfigError

if TYPE_CHECKING:
    from tutti.config.models import Agent, GlobalConfig, Profile
    from tutti.workspace import Workspace


def _lookup_key(ws: Workspace, agent: Agent, env_name: str | None) -> str | None:
    if not env_name:
        return None
    return (
        os.environ.get(env_name)
        or agent.env.get(env_name)
        or ws.config.workspace.env.variables().get(env_name)
    )


def _priority(profile: Profile) -> tuple[int, int]:
    return (0, profile.priority) if profile.priority is not None else (1, 0)


def _from_profile(
    ws: Workspace, agent: Agent, profile: Profile, *, primary: bool, gc: GlobalConfig
) -> ProviderSettings | None:
    kind = (profile.provider or "").lower()
    where = f"global config profile '{profile.name}'"
    if kind not in PROVIDER_KINDS:
        if not primary:
            return None
        raise ConfigError(
            f"{where}: provider = '{profile.provider}' is not an API provider kind",
            hint=f"set provider to one of: {', '.join(PROVIDER_KINDS)}",
        )
    model = (agent.model if primary and agent.model else None) or profile.model or agent.model
    if not model:
        if not primary:
            return None
        raise ConfigError(
            f"{where}: no model (set `model` on the profile or on agent '{agent.name}')",
            hint='e.g. model = "claude-sonnet-4-5"',
        )
    base_url = profile.base_url or default_base_url(kind)
    if not base_url:
        raise ConfigError(
            f"{where}: provider '{kind}' needs base_url", hint='e.g. base_url = "http://127.0.0.1:8000/v1"'
        )
    key = _lookup_key(ws, agent, profile.api_key_env)
    if profile.api_key_env and not key:
        if not primary:
            return None  # a fallback without credentials is skipped, not fatal
        raise ConfigError(
            f"{where}: api_key_env names ${profile.api_key_env}, which is not set",
            hint=f"export {profile.api_key_env}=… in the environment that runs tt",
        )
    return _settings(kind, model, base_url, key, profile.api_key_env, profile.name, gc)


def _settings(
    kind: str,
    model: str,
    base_url: str,
    key: str | None,
    key_env: str | None,
    profile: str | None,
    gc: GlobalConfig,
) -> ProviderSettings:
    r = gc.resilience
    return ProviderSettings(
        kind=kind,
        model=model,
        base_url=base_url,
        api_key=key,
        api_key_env=key_env,
        profile=profile,
        initial_backoff_secs=r.retry_initial_backoff_ms / 1000,
        max_backoff_secs=max(r.retry_max_backoff_ms / 1000, r.retry_initial_backoff_ms / 1000),
        max_retries=max(2, r.retry_max_attempts),
    )


def provider_settings(ws: Workspace, agent: Agent, gc: GlobalConfig | None = None) -> list[ProviderSettings]:
    """Failover-ordered settings for `agent`. Raises ConfigError naming the key to fix."""
    if gc is None:
        from tutti.config.global_config import load_global

        gc = load_global()
    api_profiles = sorted((p for p in gc.profiles if p.plan == "api"), key=_priority)
    chain: list[ProviderSettings] = []
    primary_name: str | None = None
    where = f"tutti.toml agent '{agent.name}'"
    ref = agent.provider
    default = gc.profile(ws.config.workspace.auth.default_profile or "")
    if ref is None and default is not None and default.plan == "api":
        ref = default.name  # a subscription default profile (plan = max/pro…) is for CLI agents
    profile = gc.profile(ref) if ref else None
    if profile is not None and profile.plan not in (None, "api"):
        raise ConfigError(
            f"{where}: provider '{profile.name}' is a plan = \"{profile.plan}\" profile (a subscription for CLI "
            "agents), not an API profile",
            hint=f'set plan = "api" and api_key_env on [[profile]] {profile.name}, or name an API profile',
        )
    if profile is not None:
        primary_name = profile.name
        settings = _from_profile(ws, agent, profile, primary=True, gc=gc)
        assert settings is not None
        chain.append(settings)
    elif ref and ref.lower() in PROVIDER_KINDS:
        chain.append(_from_agent(ws, agent, ref, where, gc))
    elif ref:
        raise ConfigError(
            f"{where}: provider '{ref}' is neither a global profile nor a provider kind",
            hint=f'define [[profile]] name = "{ref}" with plan = "api", or use one of: '
            f"{', '.join(PROVIDER_KINDS)}",
        )
    for candidate in api_profiles:
        if candidate.name == primary_name:
            continue
        settings = _from_profile(ws, agent, candidate, primary=not chain, gc=gc)
        if settings is not None:
            chain.append(settings)
    if not chain:
        raise ConfigError(
            f"{where}: no API provider configured for this direct agent",
            hint='set provider/model on the agent or add a [[profile]] with plan = "api"',
        )
    return chain


def _from_agent(ws: Workspace, agent: Agent, ref: str, where: str, gc: GlobalConfig) -> ProviderSettings:
    """`provider = "<kind>"` on the agent itself: its model, base_url and api_key_env."""
    kind = ref.lower()
    if not agent.model:
        raise ConfigError(
            f"{where}: provider = '{ref}' needs `model`", hint='add model = "…" to the agent'
        )
    base_url = agent.base_url or default_base_url(kind)
    if not base_url:
        raise ConfigError(
            f"{where}: provider '{kind}' needs base_url", hint='add base_url = "http://…/v1"'
        )
    key = _lookup_key(ws, agent, agent.api_key_env)
    if agent.api_key_env and not key:
        raise ConfigError(
            f"{where}: api_key_env names ${agent.api_key_env}, which is not set",
            hint=f"export {agent.api_key_env}=… in the environment that runs tt",
        )
    return _settings(kind, agent.model, base_url, key, agent.api_key_env, None, gc)
