"""How the scripted server fails, in each provider's own words.

Error bodies follow the real providers' shapes (what the CLIs parse and print): OpenAI's
`{"error": {"message", "type", "param", "code"}}` (`insufficient_quota`,
`context_length_exceeded`), Anthropic's `{"type": "error", "error": {"type", "message"}}`
(`overloaded_error`, a credit-balance `invalid_request_error`, "prompt is too long"), Gemini's
`{"error": {"code", "message", "status", "details"}}` (`RESOURCE_EXHAUSTED` with a
`QuotaFailure`). Broken streams are streams: `stall` starts one and goes silent, `malformed`
sends a cut JSON frame and ends without the closing event.
"""

from __future__ import annotations

from typing import Any

from tutti.testing.model_script import Failure, Turn

Events = list[tuple[str | None, Any]]

_OPENAI = {  # kind -> (type, code, message)
    "auth": (
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided: sk-fake***. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
    ),
    "forbidden": (
        "invalid_request_error",
        None,
        "You have insufficient permissions for this operation. Missing scopes: model.request.",
    ),
    "rate_limit": (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. "
        "Please try again in 20s.",
    ),
    "quota": (
        "insufficient_quota",
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes.",
    ),
    "server_error": (
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    "unavailable": ("server_error", None, "The service is temporarily unavailable. Please try again later."),
    "overloaded": ("server_error", None, "The engine is currently overloaded, please try again later"),
    "context": (
        "invalid_request_error",
        "context_length_exceeded",
        "This model's maximum context length is 128000 tokens. However, your messages resulted in "
        "131072 tokens. Please reduce the length of the messages.",
    ),
}
_ANTHROPIC = {  # kind -> (type, message)
    "auth": ("authentication_error", "invalid x-api-key"),
    "forbidden": ("permission_error", "Your API key does not have permission to use the specified resource."),
    "rate_limit": (
        "rate_limit_error",
        "Number of request tokens has exceeded your per-minute rate limit "
        "(https://docs.anthropic.com/en/api/rate-limits); see the response headers for current usage.",
    ),
    "quota": (
        "invalid_request_error",
        "Your credit balance is too low to access the Anthropic API. "
        "Please go to Plans & Billing to upgrade or purchase credits.",
    ),
    "server_error": ("api_error", "Internal server error"),
    "unavailable": ("api_error", "Service Unavailable"),
    "overloaded": ("overloaded_error", "Overloaded"),
    "context": ("invalid_request_error", "prompt is too long: 215430 tokens > 200000 maximum"),
}
_GEMINI = {  # kind -> (status, message)
    "auth": ("UNAUTHENTICATED", "API key not valid. Please pass a valid API key."),
    "forbidden": ("PERMISSION_DENIED", "The caller does not have permission"),
    "rate_limit": ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    "quota": (
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing "
        "details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
    ),
    "server_error": (
        "INTERNAL",
        "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting",
    ),
    "unavailable": ("UNAVAILABLE", "The service is currently unavailable."),
    "overloaded": ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    "context": (
        "INVALID_ARGUMENT",
        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
    ),
}


def _kind(failure: Failure) -> str:
    if failure.kind == "auth" and failure.http_status() == 403:
        return "forbidden"
    return failure.kind if failure.kind in _OPENAI else "server_error"


def status_for(protocol: str, failure: Failure) -> int:
    """The HTTP status a provider answers with (Anthropic's credit error is a 400)."""
    if failure.status:
        return failure.status
    if protocol == "anthropic" and failure.kind == "quota":
        return 400
    return failure.http_status()


def error_body(protocol: str, failure: Failure) -> dict[str, Any]:
    """`protocol`: openai (chat and responses), anthropic or gemini."""
    kind = _kind(failure)
    if protocol == "anthropic":
        etype, message = _ANTHROPIC[kind]
        return {"type": "error", "error": {"type": etype, "message": failure.message or message}}
    if protocol == "gemini":
        status, message = _GEMINI[kind]
        err: dict[str, Any] = {
            "code": status_for(protocol, failure),
            "message": failure.message or message,
            "status": status,
        }
        if kind == "quota":
            err["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [
                        {
                            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                            "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                        }
                    ],
                }
            ]
        return {"error": err}
    etype, code, message = _OPENAI[kind]
    return {"error": {"message": failure.message or message, "type": etype, "param": None, "code": code}}


def stream_opening(protocol: str, model: str, seq: int) -> Events:
    """The first frames of a real answer (a few words in): the client is reading a live stream."""
    from tutti.testing import model_wire as wire

    turn = Turn(text="Let me look at that file for you, one moment.")
    usage = {"input_tokens": 10, "output_tokens": 1, "cached_tokens": 0}
    if protocol == "openai_chat":
        return wire.chat_events(turn, model, usage, seq, False)[:2]
    if protocol == "openai_responses":  # created, in_progress, item added, part added, first delta
        return wire.responses_events(turn, model, usage, seq)[:5]
    if protocol == "anthropic":  # message_start, ping, content_block_start, first delta
        return wire.messages_events(turn, model, usage, seq)[:4]
    return wire.gemini_events(turn, model, usage, seq)[:1]


def malformed_frame(protocol: str) -> tuple[str | None, str]:
    """A frame whose JSON is cut off mid-object (a proxy truncating, a garbled chunk)."""
    if protocol == "anthropic":
        return "content_block_delta", '{"type": "content_block_delta", "index": 0, "delta": {"type": "text_d'
    if protocol == "openai_responses":
        return "response.output_text.delta", '{"type": "response.output_text.delta", "delta": "Hel'
    if protocol == "openai_chat":
        return None, '{"id": "chatcmpl-x", "object": "chat.completion.chunk", "choices": [{"delta": {"cont'
    return None, '{"candidates": [{"content": {"role": "model", "parts": [{"te'


def context_failed_events(model: str, seq: int, failure: Failure) -> Events:
    """OpenAI Responses reports an over-long input inside the stream: `response.failed`."""
    _, code, message = _OPENAI["context"]
    error = {
        "code": code,
        "message": failure.message
        or "Your input exceeds the context window of this model. Please adjust your input and try again.",
    }
    shell = {"id": f"resp_{seq}", "object": "response", "created_at": 0, "model": model, "output": []}
    return [
        (
            "response.created",
            {
                "type": "response.created",
                "sequence_number": 0,
                "response": {**shell, "status": "in_progress"},
            },
        ),
        (
            "response.failed",
            {
                "type": "response.failed",
                "sequence_number": 1,
                "response": {**shell, "status": "failed", "error": error},
            },
        ),
    ]
