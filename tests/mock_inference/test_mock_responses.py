"""The OpenAI Responses API on the wire: object shape, typed events, storage, errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema  # type: ignore[import-untyped]
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mock_support import Server, start_server, stop_server

from mock_inference.errors import APIError
from mock_inference.peers import Peers
from mock_inference.response_store import Elsewhere, ResponseStore
from mock_inference.wire.responses_request import decode

RESP = "/v1/responses"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
        "required": ["city", "days"],
        "additionalProperties": False,
    },
    "strict": True,
}


def create(http: httpx.Client, status: int = 200, **body: Any) -> dict[str, Any]:
    resp = http.post(RESP, json={"model": "mock-gpt", **body})
    assert resp.status_code == status, resp.text
    data: dict[str, Any] = resp.json()
    return data


def events(resp: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """Typed events, strictly: `event: T` then `data: {...}` whose type is T."""
    assert resp.headers["content-type"].startswith("text/event-stream")
    out = []
    for block in resp.text.split("\n\n")[:-1]:
        head, _, data = block.partition("\n")
        assert head.startswith("event: ") and data.startswith("data: "), block
        payload = orjson.loads(data[len("data: ") :])
        assert payload["type"] == head[len("event: ") :]
        out.append((payload["type"], payload))
    assert "[DONE]" not in resp.text
    return out


def stream(http: httpx.Client, headers: dict[str, str] | None = None, **body: Any) -> Any:
    resp = http.post(RESP, json={"model": "mock-gpt", "stream": True, **body}, headers=headers)
    assert resp.status_code == 200, resp.text
    return events(resp)


def test_text_response_object(http: httpx.Client) -> None:
    body = create(
        http,
        input="Hello",
        instructions="Be brief",
        metadata={"team": "a"},
        user="u1",
        temperature=0.5,
    )
    assert re.fullmatch(r"resp_[0-9a-f]{24}", body["id"])
    assert body["object"] == "response" and body["status"] == "completed"
    assert body["incomplete_details"] is None and body["error"] is None
    (item,) = body["output"]
    assert item["type"] == "message" and item["role"] == "assistant"
    assert item["id"].startswith("msg_") and item["status"] == "completed"
    assert item["content"][0]["type"] == "output_text" and item["content"][0]["annotations"] == []
    usage = body["usage"]
    assert usage["input_tokens_details"] == {"cached_tokens": 0}
    assert usage["output_tokens_details"] == {"reasoning_tokens": 0}
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    # echo of the request's settings
    assert body["instructions"] == "Be brief" and body["metadata"] == {"team": "a"}
    assert body["user"] == "u1" and body["temperature"] == 0.5 and body["top_p"] == 1.0
    assert body["store"] is True and body["parallel_tool_calls"] is True
    assert body["text"]["format"] == {"type": "text"} and body["tool_choice"] == "auto"


def test_input_tokens_count_like_chat(http: httpx.Client) -> None:
    """instructions count as a system message, each item as a message, as chat does."""
    body = create(http, input="Hello there", instructions="Be brief")
    chat = http.post(
        "/v1/chat/completions",
        json={
            "messages": [
                {"role": "system", "content": "Be brief"},
                {"role": "user", "content": "Hello there"},
            ]
        },  # fmt: skip
    ).json()
    assert body["usage"]["input_tokens"] == chat["usage"]["prompt_tokens"]
    assert body["usage"]["output_tokens"] == chat["usage"]["completion_tokens"]


def test_max_output_tokens_makes_it_incomplete(http: httpx.Client) -> None:
    body = http.post(
        RESP,
        json={"input": "Hi", "max_output_tokens": 16},
        headers={"x-mock-reply-mode": "filler"},
    ).json()
    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": "max_output_tokens"}
    assert body["usage"]["output_tokens"] == 16
    assert body["output"][0]["status"] == "incomplete"


@pytest.mark.parametrize(
    ("choice", "called"),
    [(None, True), ("auto", True), ("required", True), ("none", False),
     ({"type": "function", "name": "get_weather"}, True)],
)  # fmt: skip
def test_tool_choice(http: httpx.Client, choice: Any, called: bool) -> None:
    extra: dict[str, Any] = {} if choice is None else {"tool_choice": choice}
    body = create(http, input="What is the weather in Paris?", tools=[WEATHER], **extra)
    (item,) = body["output"]
    assert (item["type"] == "function_call") is called
    if called:
        assert item["name"] == "get_weather" and item["call_id"].startswith("call_")
        assert item["id"].startswith("fc_")
        jsonschema.validate(orjson.loads(item["arguments"]), WEATHER["parameters"])
    assert body["tools"][0]["strict"] is True


def test_auto_answers_in_text_after_a_tool_result(http: httpx.Client) -> None:
    """The same rule as chat: the model answers once a function_call_output came back."""
    first = create(http, input="weather in Paris?", tools=[WEATHER])
    call = first["output"][0]
    items = [
        {"role": "user", "content": "weather in Paris?"},
        {"type": "function_call", "call_id": call["call_id"], "name": call["name"],
         "arguments": call["arguments"]},
        {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"},
    ]  # fmt: skip
    second = create(http, input=items, tools=[WEATHER])
    assert second["output"][0]["type"] == "message"
    # and the same through previous_response_id
    third = create(
        http,
        previous_response_id=first["id"],
        input=[{"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}],
        tools=[WEATHER],
    )
    assert third["output"][0]["type"] == "message"
    assert third["previous_response_id"] == first["id"]


def test_json_schema_format_validates(http: httpx.Client) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "tags": {"type": "array",
                       "items": {"type": "string"}}},
        "required": ["name", "tags"],
        "additionalProperties": False,
    }  # fmt: skip
    fmt = {"type": "json_schema", "name": "person", "schema": schema, "strict": True}
    body = create(http, input="x", text={"format": fmt})
    jsonschema.validate(orjson.loads(body["output"][0]["content"][0]["text"]), schema)
    assert body["text"]["format"]["name"] == "person"
    obj = create(http, input="x", text={"format": {"type": "json_object"}})
    assert isinstance(orjson.loads(obj["output"][0]["content"][0]["text"]), dict)


def _sequence_ok(evs: list[tuple[str, dict[str, Any]]]) -> None:
    numbers = [payload["sequence_number"] for _, payload in evs]
    assert numbers == list(range(len(numbers)))


def test_streamed_text_events_and_equal_text(http: httpx.Client) -> None:
    body: dict[str, Any] = {"input": "Hello", "temperature": 0}
    whole = create(http, **body)
    evs = stream(http, **body)
    _sequence_ok(evs)
    kinds = [k for k, _ in evs]
    deltas = kinds.count("response.output_text.delta")
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * deltas,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    text = "".join(p["delta"] for k, p in evs if k == "response.output_text.delta")
    assert text == whole["output"][0]["content"][0]["text"]
    final = evs[-1][1]["response"]
    assert final["output"][0]["content"][0]["text"] == text
    assert final["usage"] == whole["usage"]
    assert evs[0][1]["response"]["status"] == "in_progress"


def test_streamed_function_call_events(http: httpx.Client) -> None:
    evs = stream(http, input="weather?", tools=[WEATHER], tool_choice="required", seed=3)
    _sequence_ok(evs)
    kinds = [k for k, _ in evs]
    n = kinds.count("response.function_call_arguments.delta")
    assert n > 1
    assert kinds == [
        "response.created", "response.in_progress", "response.output_item.added",
        *["response.function_call_arguments.delta"] * n,
        "response.function_call_arguments.done", "response.output_item.done",
        "response.completed",
    ]  # fmt: skip
    args = "".join(p["delta"] for k, p in evs if k == "response.function_call_arguments.delta")
    done = dict(evs)["response.function_call_arguments.done"]
    assert done["arguments"] == args
    whole = create(http, input="weather?", tools=[WEATHER], tool_choice="required", seed=3)
    assert orjson.loads(whole["output"][0]["arguments"]) == orjson.loads(args)


def test_streamed_incomplete(http: httpx.Client) -> None:
    evs = stream(http, {"x-mock-reply-mode": "filler"}, input="Hi", max_output_tokens=16)
    assert evs[-1][0] == "response.incomplete"
    assert evs[-1][1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_injected_stream_error_is_response_failed(http: httpx.Client) -> None:
    evs = stream(http, {"x-mock-fault": "stream_error"}, input="Hello")
    _sequence_ok(evs)
    assert [k for k, _ in evs[-2:]] == ["error", "response.failed"]
    failed = evs[-1][1]["response"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "server_error"
    assert "response.completed" not in dict(evs)


def test_stored_get_delete(http: httpx.Client) -> None:
    body = create(http, input="remember me")
    got = http.get(f"{RESP}/{body['id']}")
    assert got.status_code == 200 and got.json()["output"] == body["output"]
    gone = http.delete(f"{RESP}/{body['id']}")
    assert gone.json() == {"id": body["id"], "object": "response", "deleted": True}
    missing = http.get(f"{RESP}/{body['id']}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert http.delete(f"{RESP}/{body['id']}").status_code == 404
    faulted = http.get(f"{RESP}/{body['id']}", headers={"x-mock-fault": "503"})
    assert faulted.status_code == 503 and faulted.json()["error"]["type"] == "server_error"
    unstored = create(http, input="forget me", store=False)
    assert http.get(f"{RESP}/{unstored['id']}").status_code == 404


def test_previous_response_id_unknown_is_400(http: httpx.Client) -> None:
    err = create(http, 400, input="x", previous_response_id="resp_0123")["error"]
    assert err["param"] == "previous_response_id"
    assert err["code"] == "previous_response_not_found"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "input"),
        ({"input": 3}, "input"),
        ({"input": []}, "input"),
        ({"input": [{"type": "nope"}]}, "input[0].type"),
        ({"input": [{"role": "wizard", "content": "x"}]}, "input[0].role"),
        ({"input": [{"role": "user"}]}, "input[0].content"),
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        ({"input": "x", "max_output_tokens": 15}, "max_output_tokens"),
        ({"input": "x", "temperature": 3}, "temperature"),
        ({"input": "x", "tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"input": "x", "tools": [WEATHER], "tool_choice": "sometimes"}, "tool_choice"),
        ({"input": "x", "tools": [WEATHER],
          "tool_choice": {"type": "function", "name": "other"}}, "tool_choice"),
        ({"input": "x", "text": {"format": {"type": "json_schema"}}}, "text.format.name"),
        ({"input": "x", "text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({"input": "x", "metadata": {"k": 1}}, "metadata.k"),
        ({"input": "x", "store": "yes"}, "store"),
    ],
)  # fmt: skip
def test_malformed_requests_are_openai_400s(
    http: httpx.Client, body: dict[str, Any], param: str
) -> None:
    resp = http.post(RESP, json=body)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param


def test_plain_responses_take_the_fast_path(server: Server) -> None:
    def fast() -> int:
        text = httpx.get(server.url + "/metrics").text
        return int(re.search(r"^mock_fast_path_requests_total (\d+)$", text, re.M).group(1))  # type: ignore[union-attr]

    before = fast()
    assert httpx.post(server.url + RESP, json={"input": "hi"}).status_code == 200
    assert fast() == before + 1
    assert httpx.post(server.url + RESP, json={"input": "hi", "stream": True}).status_code == 200
    assert fast() == before + 1


@pytest.fixture(scope="module")
def two_workers() -> Iterator[Server]:
    srv = start_server(workers=2)
    yield srv
    stop_server(srv)


def test_stored_responses_are_seen_by_every_worker(two_workers: Server) -> None:
    """Fresh connections land on either worker; every one finds every stored response."""
    ids = []
    for i in range(12):
        with two_workers.client() as client:
            ids.append(create(client, input=f"turn {i}")["id"])
    for rid in ids:
        with two_workers.client() as client:
            assert client.get(f"{RESP}/{rid}").status_code == 200
            follow = create(client, input="and?", previous_response_id=rid)
            assert follow["previous_response_id"] == rid


def test_the_store_keeps_at_most_its_share_of_the_limit() -> None:
    alone = ResponseStore(3)
    shared = ResponseStore(10, Peers("/nonexistent", 0, 4))  # ceil(10 / 4) = 3 per worker
    for i in range(100):
        alone.put(f"resp_{i}", b"{}")
        shared.put(f"resp_{i}", b"{}")
    assert list(alone.records) == list(shared.records) == ["resp_97", "resp_98", "resp_99"]
    assert alone.get("resp_0") is None
    with pytest.raises(Elsewhere):  # another worker may have it
        shared.get("resp_0")


def test_a_response_nobody_has_is_then_known_absent() -> None:
    import asyncio

    shared = ResponseStore(10, Peers("/nonexistent", 0, 2))  # the other worker is gone
    assert asyncio.run(shared.fetch("resp_0")) is None
    assert shared.get("resp_0") is None  # now "not found", no more Elsewhere
    shared.put("resp_0", b"{}")
    assert shared.get("resp_0") == b"{}"


def test_delete_reaches_every_worker(two_workers: Server) -> None:
    """A copy fetched by the other worker goes too: no worker answers it afterwards."""
    with two_workers.client() as client:
        rid = create(client, input="short-lived")["id"]
    for _ in range(6):  # fresh connections: both workers read (and copy) it
        with two_workers.client() as client:
            assert client.get(f"{RESP}/{rid}").status_code == 200
    with two_workers.client() as client:
        assert client.delete(f"{RESP}/{rid}").status_code == 200
    for _ in range(6):
        with two_workers.client() as client:
            assert client.get(f"{RESP}/{rid}").status_code == 404
            follow = client.post(RESP, json={"input": "x", "previous_response_id": rid})
            assert follow.status_code == 400


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)  # fmt: skip
_keys = st.sampled_from(
    ["input", "instructions", "tools", "tool_choice", "text", "metadata", "max_output_tokens",
     "store", "temperature", "user", "parallel_tool_calls", "seed"]
)  # fmt: skip


@given(st.dictionaries(_keys, _json, max_size=6))
@settings(max_examples=400, deadline=None)
def test_decode_accepts_or_names_the_problem(body: dict[str, Any]) -> None:
    try:
        decode(body, "mock-gpt", None)
    except APIError as exc:
        assert exc.status_code == 400 and exc.param


def test_key_model_and_script_apply(strict_server: Server) -> None:
    url = strict_server.url + RESP
    body = {"model": "mock-gpt", "input": "what is the weather?"}
    assert httpx.post(url, json=body).status_code == 401
    assert httpx.get(url + "/resp_0123").status_code == 401
    auth = {"authorization": "Bearer sk-test-123"}
    unknown = httpx.post(url, json={**body, "model": "nope"}, headers=auth)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"
    scripted = httpx.post(url, json=body, headers=auth).json()
    assert scripted["output"][0]["content"][0]["text"] == "It is sunny in Paris."


def test_fail_first_and_latency_apply(http: httpx.Client) -> None:
    key = {"x-mock-fail-first": "1", "x-mock-fault-key": "responses-ff"}
    assert http.post(RESP, json={"input": "x"}, headers=key).status_code == 429
    assert http.post(RESP, json={"input": "x"}, headers=key).status_code == 200
    before = _ttft_buckets(http)
    stream(http, {"x-mock-ttft-ms": "150"}, input="Hello")
    after = _ttft_buckets(http)
    assert after['le="+Inf"'] == before['le="+Inf"'] + 1  # observed once ...
    assert after['le="0.1"'] == before['le="0.1"']  # ... above 0.1 s: the TTFT applied


def _ttft_buckets(http: httpx.Client) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in http.get("/metrics").text.splitlines():
        if line.startswith("vllm:time_to_first_token_seconds_bucket"):
            bound = line[line.index("le=") : line.index("}")]
            out[bound] = int(line.rpartition(" ")[2])
    return out
