"""The scripted model server speaks four wire formats over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest

from tutti.testing.model_server import ScriptedModelServer

SCRIPT = {
    "turns": [
        {
            "text": "Writing the file.",
            "tool_calls": [{"name": "write_file", "arguments": {"path": "a.txt", "content": "hi"}}],
            "usage": {"input_tokens": 90, "output_tokens": 12, "cached_tokens": 10},
        },
        {"text": "All done."},
    ]
}


@pytest.fixture
def srv():
    with ScriptedModelServer(SCRIPT) as server:
        yield server


def sse(text: str) -> list[tuple[str | None, object]]:
    out, event = [], None
    for block in text.strip().split("\n\n"):
        event, data = None, None
        for line in block.splitlines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        out.append((event, data if data == "[DONE]" else json.loads(data)))
    return out


def test_binds_loopback_on_an_ephemeral_port(srv):
    assert srv._httpd.server_address[0] == "127.0.0.1" and srv.port > 0
    assert httpx.get(srv.url + "/health").json() == {"ok": True}


def test_openai_chat_non_streaming_tool_call_and_usage(srv):
    body = httpx.post(srv.base_url + "/chat/completions", json={"model": "gpt-4o", "messages": []}).json()
    msg = body["choices"][0]["message"]
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert msg["tool_calls"][0]["function"] == {
        "name": "write_file",
        "arguments": '{"path": "a.txt", "content": "hi"}',
    }
    assert (
        body["usage"]["prompt_tokens"] == 100
        and body["usage"]["prompt_tokens_details"]["cached_tokens"] == 10
    )


def test_openai_chat_streaming_ends_with_usage_and_done(srv):
    r = httpx.post(
        srv.base_url + "/chat/completions",
        json={"model": "m", "stream": True, "stream_options": {"include_usage": True}},
    )
    events = sse(r.text)
    assert events[-1] == (None, "[DONE]") and events[-2][1]["usage"]["completion_tokens"] == 12
    args = "".join(
        c["choices"][0]["delta"]["tool_calls"][0]["function"].get("arguments", "")
        for _, c in events[:-2]
        if c["choices"] and c["choices"][0]["delta"].get("tool_calls")
    )
    assert json.loads(args) == {"path": "a.txt", "content": "hi"}


def test_openai_responses_stream_has_function_call_items(srv):
    r = httpx.post(srv.base_url + "/responses", json={"model": "gpt-5", "stream": True, "input": []})
    events = sse(r.text)
    names = [e for e, _ in events]
    assert names[0] == "response.created" and names[-1] == "response.completed"
    assert "response.output_text.delta" in names and "response.function_call_arguments.delta" in names
    completed = events[-1][1]["response"]
    call = next(i for i in completed["output"] if i["type"] == "function_call")
    assert call["name"] == "write_file" and json.loads(call["arguments"])["path"] == "a.txt"
    assert completed["usage"]["input_tokens_details"]["cached_tokens"] == 10
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))


def test_anthropic_messages_stream_with_tool_use(srv):
    r = httpx.post(srv.url + "/v1/messages", json={"model": "claude", "stream": True, "messages": []})
    events = sse(r.text)
    assert [e for e, _ in events][:2] == ["message_start", "ping"] and events[-1][0] == "message_stop"
    start = [d for e, d in events if e == "content_block_start"]
    assert (
        start[1]["content_block"]["type"] == "tool_use" and start[1]["content_block"]["name"] == "write_file"
    )
    delta = next(d for e, d in events if e == "message_delta")
    assert delta["delta"]["stop_reason"] == "tool_use" and delta["usage"]["output_tokens"] == 12
    assert events[0][1]["message"]["usage"]["cache_read_input_tokens"] == 10


def test_gemini_generate_and_stream(srv):
    body = httpx.post(srv.url + "/v1beta/models/gemini-2.5-pro:generateContent", json={"contents": []}).json()
    parts = body["candidates"][0]["content"]["parts"]
    assert parts[1]["functionCall"] == {"name": "write_file", "args": {"path": "a.txt", "content": "hi"}}
    assert body["usageMetadata"]["promptTokenCount"] == 100
    r = httpx.post(
        srv.url + "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", json={"contents": []}
    )
    chunks = [d for _, d in sse(r.text)]
    assert (
        "".join(p.get("text", "") for c in chunks for p in c["candidates"][0]["content"]["parts"])
        == "All done."
    )


def test_failure_modes_switch_at_runtime_and_are_logged(srv):
    control = httpx.post(srv.url + "/_control/mode", json={"mode": "rate_limit", "retry_after": "3"}).json()
    assert control["mode"] == "rate_limit"
    r = httpx.post(srv.base_url + "/chat/completions", json={"model": "m"})
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    assert r.json()["error"]["code"] == "rate_limit_exceeded"
    httpx.post(srv.url + "/_control/mode", json={"mode": "auth"})
    r = httpx.post(srv.url + "/v1/messages", json={"model": "m"}, headers={"x-api-key": "k1"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    httpx.post(srv.url + "/_control/mode", json={"mode": "quota"})
    assert (
        httpx.post(srv.base_url + "/chat/completions", json={}).json()["error"]["type"]
        == "insufficient_quota"
    )
    httpx.post(srv.url + "/_control/mode", json={"mode": 503, "times": 1})
    assert httpx.post(srv.base_url + "/chat/completions", json={}).status_code == 503
    assert httpx.post(srv.base_url + "/chat/completions", json={}).status_code == 200  # times = 1 used up
    log = httpx.get(srv.url + "/_control/requests").json()
    assert [e["status"] for e in log] == [429, 401, 429, 503, 200]
    assert log[1]["api_key"] == "k1" and "x-api-key" not in log[1]["headers"]
    assert log[-1]["turn"] == 0  # failures do not consume turns


def test_scripted_turn_failure_then_success(srv):
    srv.load({"turns": [{"fail": {"kind": "server_error", "times": 2}, "text": "finally"}]})
    codes = [httpx.post(srv.base_url + "/chat/completions", json={}).status_code for _ in range(3)]
    assert codes == [500, 500, 200]


def test_exhausted_script_plays_the_fallback(srv):
    for _ in range(3):
        body = httpx.post(srv.base_url + "/chat/completions", json={}).json()
    assert body["choices"][0]["message"]["content"] == "Done."


def test_hang_holds_the_request_until_the_client_gives_up(srv):
    srv.set_mode({"kind": "hang", "hang_secs": 30})
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(srv.base_url + "/chat/completions", json={}, timeout=0.5)
    assert time.monotonic() - started < 5


def test_cli_serves_a_toml_script(tmp_path):
    script = tmp_path / "s.toml"
    script.write_text('[[turn]]\ntext = "from toml"\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "tutti.testing.model_server", str(script), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line
        base = line.split("OpenAI base URL ")[1].rstrip(")\n")
        body = httpx.post(base + "/chat/completions", json={"model": "m"}, timeout=20).json()
        assert body["choices"][0]["message"]["content"] == "from toml"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_unscripted_side_requests_that_want_json_get_schema_shaped_json(srv):
    schema = {
        "type": "OBJECT",
        "properties": {
            "reasoning": {"type": "STRING"},
            "score": {"type": "INTEGER"},
            "mode": {"type": "STRING", "enum": ["fast", "slow"]},
        },
    }
    srv.load({"turns": [], "tool_requests_only": True})
    body = httpx.post(
        srv.url + "/v1beta/models/g:generateContent",
        json={
            "contents": [],
            "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": schema},
        },
    ).json()
    answer = json.loads(body["candidates"][0]["content"]["parts"][0]["text"])
    assert answer == {"reasoning": "scripted", "score": 1, "mode": "fast"}
    chat = httpx.post(
        srv.base_url + "/chat/completions", json={"response_format": {"type": "json_object"}}
    ).json()
    assert json.loads(chat["choices"][0]["message"]["content"]) == "scripted"


def test_match_turns_answer_the_prompt_they_match_out_of_order(srv):
    srv.load(
        {
            "turns": [
                {"text": "first in order"},
                {"match": "deploy", "text": "deploying"},
                {"text": "second in order"},
            ]
        }
    )

    def ask(prompt: str) -> str:
        body = httpx.post(
            srv.base_url + "/chat/completions", json={"messages": [{"role": "user", "content": prompt}]}
        ).json()
        return body["choices"][0]["message"]["content"]

    assert ask("hello") == "first in order"
    assert ask("please deploy now") == "deploying"
    assert ask("please deploy again") == "second in order"  # a match turn plays once
    assert ask("anything") == "Done."
    anthropic = httpx.post(
        srv.url + "/v1/messages",
        json={"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]},
    ).json()
    assert anthropic["content"][0]["text"] == "Done."


@pytest.mark.parametrize(
    ("mode", "path", "status", "field"),
    [
        ("quota", "/v1/chat/completions", 429, ("error", "code", "insufficient_quota")),
        ("quota", "/v1/messages", 400, ("error", "message", "Your credit balance is too low")),
        ("quota", "/v1beta/models/g:generateContent", 429, ("error", "status", "RESOURCE_EXHAUSTED")),
        ("context", "/v1/chat/completions", 400, ("error", "code", "context_length_exceeded")),
        ("context", "/v1/messages", 400, ("error", "message", "prompt is too long")),
        ("context", "/v1beta/models/g:generateContent", 400, ("error", "status", "INVALID_ARGUMENT")),
        (403, "/v1/messages", 403, ("error", "type", "permission_error")),
        (529, "/v1/messages", 529, ("error", "type", "overloaded_error")),
    ],
)
def test_each_provider_fails_in_its_own_words(srv, mode, path, status, field):
    srv.set_mode(mode)
    r = httpx.post(srv.url + path, json={"model": "m"})
    outer, key, want = field
    assert r.status_code == status and r.json()[outer][key].startswith(want), r.text


def test_fail_from_a_later_turn_after_a_successful_one(srv):
    srv.set_mode("auth", from_turn=1)
    first = httpx.post(srv.base_url + "/chat/completions", json={})
    second = httpx.post(srv.base_url + "/chat/completions", json={})
    assert (first.status_code, second.status_code) == (200, 401)
    httpx.post(srv.url + "/_control/mode", json={"mode": "server_error", "from_turn": 5})
    assert httpx.post(srv.base_url + "/chat/completions", json={}).status_code == 200  # turn 1 < 5


def test_stall_starts_a_stream_then_goes_silent(srv):
    srv.set_mode({"kind": "stall", "hang_secs": 30})
    seen = []
    with pytest.raises(httpx.ReadTimeout):
        with httpx.stream("POST", srv.url + "/v1/messages", json={"stream": True}, timeout=1.0) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                seen.append(line)
    assert "event: message_start" in seen


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses", "/v1/messages"])
def test_malformed_stream_cuts_a_frame_and_never_closes_the_answer(srv, path):
    srv.set_mode("malformed")
    r = httpx.post(srv.url + path, json={"stream": True})
    frames = [ln[6:] for ln in r.text.splitlines() if ln.startswith("data: ")]
    assert r.status_code == 200 and frames
    with pytest.raises(json.JSONDecodeError):
        json.loads(frames[-1])
    assert "[DONE]" not in r.text and "message_stop" not in r.text and "response.completed" not in r.text


def test_responses_stream_reports_context_overflow_in_band(srv):
    srv.set_mode("context")
    events = sse(httpx.post(srv.base_url + "/responses", json={"stream": True}).text)
    failed = [data for name, data in events if name == "response.failed"]
    assert failed and failed[0]["response"]["error"]["code"] == "context_length_exceeded"
