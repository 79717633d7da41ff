"""Model providers: `build_provider(settings)` picks the wire format for a provider kind."""

from __future__ import annotations

from tutti.direct.providers.base import Provider, ProviderCallError, ProviderSettings
from tutti.errors import ConfigError

# Kinds that speak OpenAI Chat Completions (any base URL) and their default endpoints.
OPENAI_COMPATIBLE = {
    "openai": "https://api.openai.com/v1",
    "openai-compatible": None,
    "ollama": "http://127.0.0.1:11434/v1",
    "llamacpp": "http://127.0.0.1:8080/v1",
    "llama.cpp": "http://127.0.0.1:8080/v1",
    "vllm": "http://127.0.0.1:8000/v1",
    "lmstudio": "http://127.0.0.1:1234/v1",
    "openrouter": "https://openrouter.ai/api/v1",
}
ANTHROPIC_KINDS = {"anthropic": "https://api.anthropic.com", "claude": "https://api.anthropic.com"}
RESPONSES_KINDS = {"openai-responses": "https://api.openai.com/v1"}
GEMINI_KINDS = {"gemini": "https://generativelanguage.googleapis.com/v1beta"}
PROVIDER_KINDS = (
    tuple(OPENAI_COMPATIBLE) + tuple(ANTHROPIC_KINDS) + tuple(RESPONSES_KINDS) + tuple(GEMINI_KINDS)
)


def default_base_url(kind: str) -> str | None:
    return (
        OPENAI_COMPATIBLE.get(kind)
        or ANTHROPIC_KINDS.get(kind)
        or RESPONSES_KINDS.get(kind)
        or GEMINI_KINDS.get(kind)
    )


def build_provider(settings: ProviderSettings, **kwargs) -> Provider:
    kind = settings.kind.lower()
    if kind in ANTHROPIC_KINDS:
        from tutti.direct.providers.anthropic import AnthropicProvider

        return AnthropicProvider(settings, **kwargs)
    if kind in GEMINI_KINDS:
        from tutti.direct.providers.gemini import GeminiProvider

        return GeminiProvider(settings, **kwargs)
    if kind in RESPONSES_KINDS:
        from tutti.direct.providers.openai_responses import OpenAIResponsesProvider

        return OpenAIResponsesProvider(settings, **kwargs)
    if kind in OPENAI_COMPATIBLE:
        from tutti.direct.providers.openai_chat import OpenAIChatProvider

        return OpenAIChatProvider(settings, **kwargs)
    raise ConfigError(
        f"unknown provider kind '{settings.kind}' (profile {settings.profile or '-'})",
        hint=f"use one of: {', '.join(PROVIDER_KINDS)}",
    )


__all__ = [
    "PROVIDER_KINDS",
    "Provider",
    "ProviderCallError",
    "ProviderSettings",
    "build_provider",
    "default_base_url",
]
