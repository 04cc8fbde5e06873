"""The OpenAI wire format, field by field, over raw HTTP."""

from __future__ import annotations

import base64
import struct
from typing import Any

import httpx
import jsonschema
import orjson
import pytest
from mock_support import CHAT_BODY


def chat(http: httpx.Client, **extra: Any) -> dict[str, Any]:
    resp = http.post("/v1/chat/completions", json={**CHAT_BODY, **extra})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    return resp.json()


def sse_events(resp: httpx.Response) -> list[Any]:
    """Parse an SSE body strictly: every event is `data: ...` followed by a blank line."""
    assert resp.headers["content-type"].startswith("text/event-stream")
    raw = resp.text
    assert raw.endswith("\n\n")
    events = []
    for block in raw.split("\n\n")[:-1]:
        assert block.startswith("data: "), block
        data = block[len("data: ") :]
        events.append(data if data == "[DONE]" else orjson.loads(data))
    return events


def stream_chat(http: httpx.Client, **extra: Any) -> list[Any]:
    resp = http.post("/v1/chat/completions", json={**CHAT_BODY, "stream": True, **extra})
    assert resp.status_code == 200, resp.text
    return sse_events(resp)


def streamed_text(chunks: list[dict[str, Any]], index: int = 0) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in chunks
        if c["choices"] and c["choices"][0]["index"] == index
    )


def test_chat_completion_object(http: httpx.Client) -> None:
    body = chat(http)
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert isinstance(body["created"], int)
    assert body["model"] == "mock-gpt"
    [choice] = body["choices"]
    assert choice["index"] == 0
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == (
        "This is a mock response from the development inference engine."
    )
    assert "tool_calls" not in choice["message"]
    usage = body["usage"]
    assert usage["completion_tokens"] == 11  # 9 words, "." and nothing else
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_usage_grows_with_prompt(http: httpx.Client) -> None:
    short = chat(http, messages=[{"role": "user", "content": "hi"}])["usage"]["prompt_tokens"]
    longer = chat(http, messages=[{"role": "user", "content": " ".join(["hi"] * 50)}])["usage"]
    assert longer["prompt_tokens"] == short + 49
    two = chat(
        http,
        messages=[{"role": "system", "content": "hi"}, {"role": "user", "content": "hi"}],
    )["usage"]["prompt_tokens"]
    assert two == short + 4  # one more message: 3 template tokens and its word


def test_content_parts_are_counted(http: httpx.Client) -> None:
    parts = [{"type": "text", "text": "alpha beta"}, {"type": "text", "text": "gamma"}]
    plain = chat(http, messages=[{"role": "user", "content": "alpha beta\ngamma"}])
    multi = chat(http, messages=[{"role": "user", "content": parts}])
    assert multi["usage"]["prompt_tokens"] == plain["usage"]["prompt_tokens"]


def test_echo_mode_and_unknown_model_accepted(http: httpx.Client) -> None:
    resp = http.post(
        "/v1/chat/completions",
        json={"model": "whatever-model", "messages": [{"role": "user", "content": "echo me"}]},
        headers={"x-mock-reply-mode": "echo"},
    )
    body = resp.json()
    assert body["model"] == "whatever-model"
    assert body["choices"][0]["message"]["content"] == "echo me"


def test_stream_wire_format(http: httpx.Client) -> None:
    events = stream_chat(http, stream_options={"include_usage": True})
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert len({c["id"] for c in chunks}) == 1
    assert len({c["created"] for c in chunks}) == 1
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert all("usage" in c for c in chunks)
    first, *middle, finish, usage_chunk = chunks
    assert first["choices"][0]["delta"]["role"] == "assistant"
    assert first["choices"][0]["finish_reason"] is None
    assert first["usage"] is None
    assert middle and all(set(c["choices"][0]["delta"]) == {"content"} for c in middle)
    assert all(c["usage"] is None for c in middle)
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert finish["choices"][0]["delta"] == {}
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] == len(middle)


def test_stream_without_usage_has_no_usage_key(http: httpx.Client) -> None:
    events = stream_chat(http)
    assert events[-1] == "[DONE]"
    assert all("usage" not in c for c in events[:-1])
    assert events[-2]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("mode", ["fixed", "filler", "echo"])
def test_stream_text_equals_non_stream_text(http: httpx.Client, mode: str) -> None:
    headers = {"x-mock-reply-mode": mode}
    args = {**CHAT_BODY, "seed": 7, "n": 2}
    full = http.post("/v1/chat/completions", json=args, headers=headers).json()
    resp = http.post("/v1/chat/completions", json={**args, "stream": True}, headers=headers)
    chunks = sse_events(resp)[:-1]
    for index in (0, 1):
        assert streamed_text(chunks, index) == full["choices"][index]["message"]["content"]


def test_seed_determinism_and_variation(http: httpx.Client) -> None:
    headers = {"x-mock-reply-mode": "filler"}

    def text(**extra: Any) -> str:
        resp = http.post("/v1/chat/completions", json={**CHAT_BODY, **extra}, headers=headers)
        return resp.json()["choices"][0]["message"]["content"]

    assert text(seed=1) == text(seed=1)
    assert text(seed=1) != text(seed=2)
    assert text(temperature=0) == text(temperature=0)
    unseeded = {text() for _ in range(4)}
    assert len(unseeded) > 1


def test_filler_has_exact_token_count(http: httpx.Client) -> None:
    resp = http.post(
        "/v1/chat/completions",
        json={**CHAT_BODY, "seed": 3},
        headers={"x-mock-reply-mode": "filler"},
    )
    assert resp.json()["usage"]["completion_tokens"] == 40  # MOCK_FILLER_TOKENS in the fixture


def test_n_choices(http: httpx.Client) -> None:
    body = chat(http, n=3, seed=5)
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    assert body["usage"]["completion_tokens"] == 3 * 11


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_cuts_with_length(http: httpx.Client, field: str) -> None:
    body = chat(http, **{field: 3})
    choice = body["choices"][0]
    assert choice["message"]["content"] == "This is a"
    assert choice["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3
    chunks = stream_chat(http, **{field: 3})[:-1]
    assert streamed_text(chunks) == "This is a"
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_stop_sequences(http: httpx.Client) -> None:
    body = chat(http, stop=[" mock", "zzz"])
    assert body["choices"][0]["message"]["content"] == "This is a"
    assert body["choices"][0]["finish_reason"] == "stop"
    assert chat(http, stop="response")["choices"][0]["message"]["content"] == "This is a mock "


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 2},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
                "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "detailed": {"type": "boolean"},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                "where": {
                    "type": "object",
                    "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
                    "required": ["lat", "lon"],
                    "additionalProperties": False,
                },
            },
            "required": ["city", "unit", "days", "where"],
            "additionalProperties": False,
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_tool_call_arguments_match_schema(http: httpx.Client, seed: int) -> None:
    body = chat(http, tools=[WEATHER_TOOL, TIME_TOOL], seed=seed)
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    [call] = choice["message"]["tool_calls"]
    assert call["type"] == "function"
    assert call["id"].startswith("call_")
    assert call["function"]["name"] == "get_weather"
    args = orjson.loads(call["function"]["arguments"])
    jsonschema.validate(args, WEATHER_TOOL["function"]["parameters"])


def test_tool_choice_variants(http: httpx.Client) -> None:
    named = {"type": "function", "function": {"name": "get_time"}}
    body = chat(http, tools=[WEATHER_TOOL, TIME_TOOL], tool_choice=named)
    assert body["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_time"
    assert (
        orjson.loads(body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]) == {}
    )
    none = chat(http, tools=[WEATHER_TOOL], tool_choice="none")
    assert none["choices"][0]["finish_reason"] == "stop"
    assert none["choices"][0]["message"]["content"]
    by_name = chat(
        http,
        tools=[WEATHER_TOOL, TIME_TOOL],
        messages=[{"role": "user", "content": "call get_time please"}],
    )
    assert by_name["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_time"


def test_tool_result_gets_a_text_answer(http: httpx.Client) -> None:
    first = chat(http, tools=[WEATHER_TOOL])
    call = first["choices"][0]["message"]["tool_calls"][0]
    messages = [
        *CHAT_BODY["messages"],
        first["choices"][0]["message"],
        {"role": "tool", "tool_call_id": call["id"], "content": '{"temp": 21}'},
    ]
    second = chat(http, tools=[WEATHER_TOOL], messages=messages)
    assert second["choices"][0]["finish_reason"] == "stop"
    assert second["choices"][0]["message"]["content"]
    assert second["usage"]["prompt_tokens"] > first["usage"]["prompt_tokens"]


def test_streamed_tool_call(http: httpx.Client) -> None:
    full = chat(http, tools=[WEATHER_TOOL], seed=11)
    chunks = stream_chat(http, tools=[WEATHER_TOOL], seed=11)[:-1]
    first = chunks[0]["choices"][0]["delta"]
    assert first["role"] == "assistant"
    head = first["tool_calls"][0]
    assert head["index"] == 0 and head["type"] == "function"
    assert head["id"].startswith("call_")
    assert head["function"] == {"name": "get_weather", "arguments": ""}
    fragments = []
    for chunk in chunks[1:-1]:
        [delta_call] = chunk["choices"][0]["delta"]["tool_calls"]
        assert delta_call["index"] == 0 and set(delta_call) == {"index", "function"}
        fragments.append(delta_call["function"]["arguments"])
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    expected = full["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    assert "".join(fragments) == expected


def test_response_format_json_object(http: httpx.Client) -> None:
    body = chat(http, response_format={"type": "json_object"})
    assert isinstance(orjson.loads(body["choices"][0]["message"]["content"]), dict)


def test_response_format_json_schema(http: httpx.Client) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer", "minimum": 0, "maximum": 120},
            "email": {"type": "string", "format": "email"},
            "friends": {"type": "array", "items": {"$ref": "#/$defs/Friend"}},
            "nickname": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["name", "age", "email", "friends", "nickname"],
        "additionalProperties": False,
        "$defs": {
            "Friend": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "close": {"type": "boolean"}},
                "required": ["name", "close"],
                "additionalProperties": False,
            }
        },
    }
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "person", "schema": schema, "strict": True},
    }
    body = chat(http, response_format=fmt, seed=9)
    value = orjson.loads(body["choices"][0]["message"]["content"])
    jsonschema.validate(value, schema)
    assert value["friends"], "arrays get at least one item by default"


def test_logprobs(http: httpx.Client) -> None:
    body = chat(http, logprobs=True, top_logprobs=3)
    content = body["choices"][0]["logprobs"]["content"]
    assert "".join(e["token"] for e in content) == body["choices"][0]["message"]["content"]
    assert all(len(e["top_logprobs"]) == 3 and e["logprob"] <= 0 for e in content)
    assert bytes(content[1]["bytes"]).decode() == content[1]["token"]
    chunks = stream_chat(http, logprobs=True)[:-1]
    assert chunks[1]["choices"][0]["logprobs"]["content"][0]["token"] == "This"


def test_legacy_completions(http: httpx.Client) -> None:
    resp = http.post(
        "/v1/completions",
        json={"model": "mock-gpt", "prompt": ["one two", "three"], "n": 2, "max_tokens": 4},
    )
    body = resp.json()
    assert body["object"] == "text_completion" and body["id"].startswith("cmpl-")
    assert [c["index"] for c in body["choices"]] == [0, 1, 2, 3]
    assert all(c["text"] == "This is a mock" for c in body["choices"])
    assert all(c["finish_reason"] == "length" for c in body["choices"])
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 16, "total_tokens": 19}
    echo = http.post(
        "/v1/completions", json={"prompt": "Say:", "echo": True, "max_tokens": 2, "logprobs": 2}
    ).json()
    assert echo["choices"][0]["text"] == "Say:This is"
    assert echo["choices"][0]["logprobs"]["tokens"] == ["This", " is"]
    assert echo["choices"][0]["logprobs"]["text_offset"] == [4, 8]


def test_legacy_completions_stream(http: httpx.Client) -> None:
    full = http.post("/v1/completions", json={"prompt": "x", "seed": 1}).json()
    resp = http.post(
        "/v1/completions",
        json={"prompt": "x", "seed": 1, "stream": True, "stream_options": {"include_usage": True}},
    )
    events = sse_events(resp)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "text_completion" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    text = "".join(c["choices"][0]["text"] for c in chunks if c["choices"])
    assert text == full["choices"][0]["text"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == full["usage"]


def test_embeddings_float_and_base64(http: httpx.Client) -> None:
    texts = ["the cat sat", "the cat sat on the mat", "quantum chromodynamics"]
    floats = http.post("/v1/embeddings", json={"input": texts}).json()
    b64 = http.post("/v1/embeddings", json={"input": texts, "encoding_format": "base64"}).json()
    assert floats["object"] == "list" and floats["model"] == "mock-gpt"
    assert [d["index"] for d in floats["data"]] == [0, 1, 2]
    vectors = [d["embedding"] for d in floats["data"]]
    assert all(len(v) == 1536 for v in vectors)
    for d, vec in zip(b64["data"], vectors, strict=True):
        decoded = struct.unpack(f"<{len(vec)}f", base64.b64decode(d["embedding"]))
        assert decoded == pytest.approx(vec, abs=1e-6)
    assert floats["usage"]["prompt_tokens"] == 3 + 6 + 3

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vectors[0], vectors[0]) == pytest.approx(1.0)
    assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2])
    again = http.post("/v1/embeddings", json={"input": "the cat sat"}).json()
    assert again["data"][0]["embedding"] == vectors[0]
    small = http.post("/v1/embeddings", json={"input": "x", "dimensions": 8}).json()
    assert len(small["data"][0]["embedding"]) == 8
    tokens = http.post("/v1/embeddings", json={"input": [[1, 2, 3]]}).json()
    assert tokens["usage"]["prompt_tokens"] == 3


def test_models(http: httpx.Client) -> None:
    listing = http.get("/v1/models").json()
    assert listing["object"] == "list"
    assert [m["id"] for m in listing["data"]] == ["mock-gpt"]
    card = http.get("/v1/models/mock-gpt").json()
    assert card["object"] == "model" and card["id"] == "mock-gpt" and card["owned_by"]
    missing = http.get("/v1/models/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_not_found"


def test_ops_routes(http: httpx.Client) -> None:
    health = http.get("/health")
    assert health.status_code == 200 and health.content == b""
    assert http.get("/version").json()["version"]
    tok = http.post("/tokenize", json={"prompt": "Hello, world!"}).json()
    assert tok["count"] == 4 == len(tok["tokens"])
    assert tok["max_model_len"] > 0
    messages = {"messages": CHAT_BODY["messages"]}
    tok_chat = http.post("/tokenize", json=messages).json()
    assert tok_chat["count"] == chat(http)["usage"]["prompt_tokens"]
    spec = http.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/v1/chat/completions" in spec["paths"]


def test_metrics_count_requests_and_tokens(http: httpx.Client) -> None:
    def scrape() -> dict[str, float]:
        text = http.get("/metrics").text
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    before = scrape()
    usage = chat(http)["usage"]
    stream_chat(http)
    http.post("/v1/chat/completions", json={"messages": []})
    after = scrape()
    lb = 'model_name="mock-gpt"'
    gen = f"vllm:generation_tokens_total{{{lb}}}"
    assert after[gen] - before[gen] == 2 * usage["completion_tokens"]
    prompt = f"vllm:prompt_tokens_total{{{lb}}}"
    assert after[prompt] - before[prompt] == 2 * usage["prompt_tokens"]
    for hist in ("time_to_first_token_seconds", "e2e_request_latency_seconds"):
        key = f"vllm:{hist}_count{{{lb}}}"
        assert after[key] - before[key] == 2
    assert f"vllm:inter_token_latency_seconds_count{{{lb}}}" in after
    assert after[f"vllm:num_requests_running{{{lb}}}"] == 0
    ok = 'mock_http_requests_total{route="/v1/chat/completions",status="200"}'
    bad = 'mock_http_requests_total{route="/v1/chat/completions",status="400"}'
    assert after[ok] - before.get(ok, 0) == 2
    assert after[bad] - before.get(bad, 0) == 1
