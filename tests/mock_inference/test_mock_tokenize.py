"""vLLM's POST /tokenize for all three APIs: a chat, Responses or Messages body counts
what that API reports as the request's input usage, asked through the real SDKs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from mock_support import CHAT_BODY, WEATHER_FUNCTION, Server, start_server, stop_server

from mock_inference.tokenize_request import shape_of

WEATHER_TOOL: dict[str, Any] = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def tokenize(client: httpx.Client, body: dict[str, Any]) -> int:
    resp = client.post("/tokenize", json=body)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert set(out) == {"count", "max_model_len", "tokens"}
    assert len(out["tokens"]) == out["count"] and out["max_model_len"] > 0
    assert all(type(t) is int and t >= 0 for t in out["tokens"])
    count: int = out["count"]
    return count


def openai_sdk(server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="sk-unused", max_retries=0)


def anthropic_sdk(server: Server) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="sk-unused", max_retries=0)


# -- which API a body is ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "shape"),
    [
        ({"prompt": "Hello"}, "completions"),
        ({}, "completions"),
        ({"messages": [{"role": "user", "content": "Hi"}]}, "chat"),
        ({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 9}, "chat"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]}, "chat"),
        ({"messages": [], "tools": [{"type": "function", "function": {"name": "f"}}]}, "chat"),
        ({"input": "Hi"}, "responses"),
        ({"input": [], "instructions": "Be brief"}, "responses"),
        ({"system": "Be brief", "messages": []}, "messages"),
        ({"messages": [], "tools": [WEATHER_TOOL]}, "messages"),
        ({"messages": [], "tools": [{"type": "web_search_20250305", "name": "s"}]}, "messages"),
        ({"messages": [{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]}]},
         "messages"),
        ({"messages": [{"role": "user", "content": [
            {"type": "mcp_tool_result", "tool_use_id": "t"}]}]}, "messages"),
    ],
)  # fmt: skip
def test_which_api_a_body_is(body: dict[str, Any], shape: str) -> None:
    assert shape_of(body) == shape


# -- the counts equal the reported usage -------------------------------------------


RESPONSES_BODIES: list[dict[str, Any]] = [
    {"input": "Hello there"},
    {"input": "What is the weather in Paris?", "instructions": "Answer in French."},
    {
        "instructions": "Use the tools.",
        "input": [
            {"role": "developer", "content": "Be terse."},
            {"role": "user", "content": [{"type": "input_text", "text": "Weather in Oslo? "},
                                         {"type": "input_text", "text": "And Bergen."}]},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather",
             "arguments": '{"city": "Oslo"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "Snow, -3 C"},
        ],
        "tools": [WEATHER_FUNCTION],
    },
]  # fmt: skip


@pytest.mark.parametrize("body", RESPONSES_BODIES, ids=["string", "instructions", "items"])
def test_responses_body_counts_its_usage(server: Server, body: dict[str, Any]) -> None:
    with openai_sdk(server) as client, server.client() as http:
        response = client.responses.create(model="mock-gpt", **body)
        assert response.usage is not None
        assert tokenize(http, {"model": "mock-gpt", **body}) == response.usage.input_tokens
        assert tokenize(http, body) == response.usage.input_tokens  # model is optional


def test_responses_body_counts_the_previous_responses(server: Server) -> None:
    with openai_sdk(server) as client, server.client() as http:
        first = client.responses.create(model="mock-gpt", input="Hello", instructions="Hi")
        follow: dict[str, Any] = {"input": "And then?", "previous_response_id": first.id}
        second = client.responses.create(model="mock-gpt", **follow)
        assert first.usage is not None and second.usage is not None
        assert tokenize(http, follow) == second.usage.input_tokens > first.usage.input_tokens


@pytest.fixture(scope="module")
def two_workers() -> Iterator[Server]:
    srv = start_server(workers=2)
    yield srv
    stop_server(srv)


def test_previous_response_of_another_worker(two_workers: Server) -> None:
    """Fresh connections land on either worker; each counts the stored history."""
    with openai_sdk(two_workers) as client:
        first = client.responses.create(model="mock-gpt", input="Remember the number 7.")
        follow: dict[str, Any] = {"input": "Which number?", "previous_response_id": first.id}
        expected = client.responses.create(model="mock-gpt", **follow).usage
    assert expected is not None
    for _ in range(8):
        with two_workers.client() as http:
            assert tokenize(http, follow) == expected.input_tokens


MESSAGES_BODIES: list[dict[str, Any]] = [
    {"messages": [{"role": "user", "content": "Hello there"}]},
    {"system": "You are terse.", "messages": [{"role": "user", "content": "Hi"}]},
    {
        "system": [{"type": "text", "text": "You are terse."},
                   {"type": "text", "text": "Answer in French."}],
        "messages": [
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me check. "},
                {"type": "tool_use", "id": "toolu_01", "name": "get_weather",
                 "input": {"city": "Oslo"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01",
                 "content": [{"type": "text", "text": "Snow, -3 C"}]},
                {"type": "text", "text": "Thanks "},
                {"type": "text", "text": "and Bergen?"},
            ]},
        ],
        "tools": [WEATHER_TOOL],
    },
    # Read as chat (nothing only Messages has); text blocks count as chat's parts do.
    {"messages": [{"role": "user", "content": [{"type": "text", "text": "Hello "},
                                               {"type": "text", "text": "world"}]}]},
]  # fmt: skip


@pytest.mark.parametrize(
    "body", MESSAGES_BODIES, ids=["string", "system", "blocks-and-tools", "text-blocks"]
)
def test_messages_body_counts_its_usage(server: Server, body: dict[str, Any]) -> None:
    with anthropic_sdk(server) as client, server.client() as http:
        message = client.messages.create(model="claude-mock", max_tokens=64, **body)
        counted = client.messages.count_tokens(model="claude-mock", **body)
        assert counted.input_tokens == message.usage.input_tokens
        assert tokenize(http, body) == message.usage.input_tokens
        sent = {"model": "claude-mock", "max_tokens": 64, **body}  # the very request body
        assert tokenize(http, sent) == message.usage.input_tokens


def test_chat_body_counts_its_tools(server: Server) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    plain_body: dict[str, Any] = dict(CHAT_BODY)
    body = {**plain_body, "tools": tools, "tool_choice": "none"}
    with openai_sdk(server) as client, server.client() as http:
        plain = client.chat.completions.create(**plain_body)
        with_tools = client.chat.completions.create(**body)
        assert plain.usage is not None and with_tools.usage is not None
        assert tokenize(http, plain_body) == plain.usage.prompt_tokens
        assert tokenize(http, body) == with_tools.usage.prompt_tokens > plain.usage.prompt_tokens


# -- bad bodies: vLLM's 400s -------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param", "says"),
    [
        ({"input": 3}, "input", "Invalid type for 'input'"),
        ({"input": []}, "input", "empty array"),
        ({"input": [{"type": "message", "content": "x"}]}, "input[0].role", "Missing"),
        ({"input": "x", "previous_response_id": "resp_nope"}, "previous_response_id",
         "not found"),
        ({"system": "x"}, "messages", "messages: Field required"),
        ({"system": "x", "messages": []}, "messages", "at least 1 item"),
        ({"system": 5, "messages": [{"role": "user", "content": "x"}]}, "system",
         "Input should be a valid string or a valid list"),
        ({"system": "x", "messages": [{"role": "system", "content": "x"}]}, "messages",
         'Unexpected role "system"'),
        ({"messages": [{"role": "user", "content": [{"type": "tool_use", "id": "t",
                                                     "name": "f"}]}]},
         "messages.0.content.0.input", "Field required"),
        ({"messages": [{"role": "user", "content": "x"}], "tools": [{"name": "f"}]},
         "tools.0.input_schema", "Field required"),
        ({"messages": [{"role": "user", "content": "x"}], "tools": "f"}, "tools",
         "Invalid type for 'tools'"),
        ({"prompt": 1}, "prompt", "Invalid type for 'prompt'"),
        ({}, "prompt", "'prompt' (or 'messages', or 'input')"),
    ],
)  # fmt: skip
def test_bad_bodies_are_400s(http: httpx.Client, body: dict[str, Any], param: str,
                             says: str) -> None:  # fmt: skip
    resp = http.post("/tokenize", json=body)
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert says in error["message"]


def test_unknown_model_is_404_in_every_shape(strict_server: Server) -> None:
    bodies: list[dict[str, Any]] = [
        {"input": "x"},
        {"system": "x", "messages": [{"role": "user", "content": "x"}]},
        {"messages": [{"role": "user", "content": "x"}]},
        {"prompt": "x"},
    ]
    with strict_server.client() as http:
        for body in bodies:
            assert tokenize(http, {**body, "model": "org/other-model"}) > 0
            resp = http.post("/tokenize", json={**body, "model": "nope"})
            assert resp.status_code == 404, body
            assert resp.json()["error"]["code"] == "model_not_found"
