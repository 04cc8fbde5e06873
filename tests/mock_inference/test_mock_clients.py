"""Real clients against the running mock: the openai SDK (sync, async, streaming) and LangChain."""

from __future__ import annotations

import asyncio
import time

import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from mock_support import Server
from pydantic import BaseModel, Field

MESSAGES = [{"role": "user", "content": "Hello there"}]
EXPECTED = "This is a mock response from the development inference engine."


def sdk(server: Server, **kwargs: object) -> openai.OpenAI:
    options = {"api_key": "sk-unused", "max_retries": 0, "timeout": 10.0, **kwargs}
    return openai.OpenAI(base_url=server.url + "/v1", **options)


def test_sdk_sync_chat(server: Server) -> None:
    with sdk(server) as client:
        completion = client.chat.completions.create(model="mock-gpt", messages=MESSAGES, seed=1)
    assert completion.choices[0].message.content == EXPECTED
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens == 11
    assert completion._request_id == completion.id


def test_sdk_streaming_with_usage(server: Server) -> None:
    with sdk(server) as client:
        stream = client.chat.completions.create(
            model="mock-gpt",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == EXPECTED
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 11
    assert all(c.usage is None for c in chunks[:-1])


def test_sdk_async(server: Server) -> None:
    async def run() -> tuple[list[str], str]:
        async with openai.AsyncOpenAI(
            base_url=server.url + "/v1", api_key="x", max_retries=0
        ) as client:
            calls = [
                client.chat.completions.create(
                    model="mock-gpt",
                    messages=MESSAGES,
                    seed=i,
                    extra_headers={"x-mock-reply-mode": "filler"},
                )
                for i in range(8)
            ]
            results = await asyncio.gather(*calls)
            stream = await client.chat.completions.create(
                model="mock-gpt", messages=MESSAGES, stream=True, seed=3,
                extra_headers={"x-mock-reply-mode": "filler"},
            )  # fmt: skip
            streamed = "".join([c.choices[0].delta.content or "" async for c in stream])
            return [r.choices[0].message.content for r in results], streamed

    texts, streamed = asyncio.run(run())
    assert len(set(texts)) == 8  # different seeds, different filler
    assert streamed == texts[3]


def test_sdk_embeddings_default_base64(server: Server) -> None:
    with sdk(server) as client:
        default = client.embeddings.create(model="mock-gpt", input=["hello world", "bye"])
        floats = client.embeddings.create(
            model="mock-gpt", input=["hello world", "bye"], encoding_format="float"
        )
        small = client.embeddings.create(model="mock-gpt", input="hello", dimensions=16)
    assert len(default.data) == 2 and len(default.data[0].embedding) == 1536
    for a, b in zip(default.data, floats.data, strict=True):
        assert a.embedding == pytest.approx(b.embedding, abs=1e-6)
    assert len(small.data[0].embedding) == 16


def test_sdk_models_and_legacy_completions(server: Server) -> None:
    with sdk(server) as client:
        assert [m.id for m in client.models.list()] == ["mock-gpt"]
        assert client.models.retrieve("mock-gpt").id == "mock-gpt"
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("nope")
        done = client.completions.create(model="mock-gpt", prompt="Say hi", max_tokens=2)
        assert done.choices[0].text == "This is" and done.choices[0].finish_reason == "length"
        streamed = client.completions.create(model="mock-gpt", prompt="Say hi", stream=True)
        assert "".join(c.choices[0].text for c in streamed if c.choices) == EXPECTED


def test_sdk_typed_errors(server: Server, strict_server: Server) -> None:
    with sdk(server) as client:
        with pytest.raises(openai.BadRequestError) as bad:
            client.chat.completions.create(model="mock-gpt", messages=[])
        assert bad.value.code == "empty_array" and bad.value.param == "messages"
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(
                model="mock-gpt", messages=MESSAGES, extra_headers={"x-mock-fault": "429"}
            )
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(
                model="mock-gpt", messages=MESSAGES, extra_headers={"x-mock-fault": "500"}
            )
        with pytest.raises(openai.APITimeoutError):
            client.with_options(timeout=0.3).chat.completions.create(
                model="mock-gpt", messages=MESSAGES, extra_headers={"x-mock-fault": "timeout"}
            )
        stream = client.chat.completions.create(
            model="mock-gpt",
            messages=MESSAGES,
            stream=True,
            extra_headers={"x-mock-fault": "stream_error"},
        )
        with pytest.raises(openai.APIError, match="mid-stream"):
            list(stream)
    with sdk(strict_server, api_key="sk-bad") as client, pytest.raises(openai.AuthenticationError):
        client.models.list()
    with sdk(strict_server, api_key="sk-test-123") as client, pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-unknown", messages=MESSAGES)


def test_sdk_retry_succeeds_after_fail_first(server: Server) -> None:
    """The SDK's own retry loop gets through a deterministic "fail the first 2" fault."""
    key = f"retry-{time.time_ns()}"
    headers = {
        "x-mock-fail-first": "2",
        "x-mock-fault-key": key,
        "x-mock-retry-after-ms": "10",
    }
    with sdk(server, max_retries=2) as client:
        started = time.monotonic()
        raw = client.chat.completions.with_raw_response.create(
            model="mock-gpt", messages=MESSAGES, extra_headers=headers
        )
        elapsed = time.monotonic() - started
    assert raw.retries_taken == 2
    assert raw.parse().choices[0].message.content == EXPECTED
    assert elapsed < 2.0  # honoured retry-after-ms instead of its own 0.5 s+ backoff
    with sdk(server, max_retries=1) as client, pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model="mock-gpt",
            messages=MESSAGES,
            extra_headers={**headers, "x-mock-fault-key": key + "-b"},
        )


def chat_model(server: Server, **kwargs: object) -> ChatOpenAI:
    return ChatOpenAI(
        model="mock-gpt", base_url=server.url + "/v1", api_key="x", max_retries=0, **kwargs
    )


def test_langchain_invoke_and_stream(server: Server) -> None:
    llm = chat_model(server)
    reply = llm.invoke("Hello")
    assert isinstance(reply, AIMessage) and reply.content == EXPECTED
    assert reply.usage_metadata and reply.usage_metadata["output_tokens"] == 11
    chunks = list(chat_model(server, stream_usage=True).stream("Hello"))
    assert "".join(str(c.content) for c in chunks) == EXPECTED
    total = chunks[0]
    for c in chunks[1:]:
        total = total + c
    assert total.usage_metadata and total.usage_metadata["output_tokens"] == 11


@tool
def get_weather(city: str, unit: str = "celsius", days: int = 1) -> str:
    """Get the weather forecast for a city."""
    return f"Sunny in {city}"


def test_langchain_tool_calls(server: Server) -> None:
    llm = chat_model(server).bind_tools([get_weather])
    reply = llm.invoke("What's the weather in Paris?")
    [call] = reply.tool_calls
    assert call["name"] == "get_weather"
    assert isinstance(call["args"]["city"], str) and isinstance(call["args"]["days"], int)
    streamed = None
    for chunk in llm.stream("What's the weather in Paris?"):
        streamed = chunk if streamed is None else streamed + chunk
    assert streamed is not None and streamed.tool_calls[0]["name"] == "get_weather"
    assert isinstance(streamed.tool_calls[0]["args"]["city"], str)
    follow = llm.invoke(
        [
            HumanMessage("What's the weather in Paris?"),
            reply,
            ToolMessage("Sunny", tool_call_id=call["id"]),
        ]
    )
    assert follow.content == EXPECTED and not follow.tool_calls


class Person(BaseModel):
    name: str
    age: int = Field(ge=0, le=130)
    hobbies: list[str]
    nickname: str | None = None


def test_langchain_structured_output(server: Server) -> None:
    structured = chat_model(server).with_structured_output(Person, method="json_schema")
    person = structured.invoke("Describe a person")
    assert isinstance(person, Person)
    assert 0 <= person.age <= 130 and person.hobbies
    as_tool = chat_model(server).with_structured_output(Person, method="function_calling")
    assert isinstance(as_tool.invoke("Describe a person"), Person)
