"""Real clients of the Responses API against the running mock: the openai SDK
(create, stream, parse), the OpenAI Agents SDK, pydantic-ai's default OpenAI model
(its Responses model) and LangChain's ChatOpenAI with use_responses_api=True."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest
from mock_support import WEATHER_FUNCTION, Server
from pydantic import BaseModel

EXPECTED = "This is a mock response from the development inference engine."


class Forecast(BaseModel):
    city: str
    degrees: int
    sunny: bool


def sdk(server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="sk-unused", max_retries=0)


def async_sdk(server: Server) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="sk-unused", max_retries=0)


# -- openai SDK ------------------------------------------------------------------


def test_sdk_responses_create(server: Server) -> None:
    with sdk(server) as client:
        response = client.responses.create(model="mock-gpt", input="Hello", instructions="Hi")
        assert response.output_text == EXPECTED
        assert response.status == "completed"
        assert response.usage is not None and response.usage.output_tokens == 11
        assert response.usage.input_tokens_details.cached_tokens == 0
        follow = client.responses.create(
            model="mock-gpt", input="And then?", previous_response_id=response.id
        )
        assert follow.previous_response_id == response.id
        assert follow.usage is not None
        assert follow.usage.input_tokens > response.usage.input_tokens  # the history counts
        assert client.responses.retrieve(response.id).output_text == EXPECTED
        client.responses.delete(response.id)
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(response.id)
        with pytest.raises(openai.BadRequestError) as bad:
            client.responses.create(model="mock-gpt", input="x", max_output_tokens=3)
        assert bad.value.param == "max_output_tokens"


def test_sdk_responses_tools(server: Server) -> None:
    with sdk(server) as client:
        response = client.responses.create(
            model="mock-gpt",
            input="What is the weather in Paris?",
            tools=[WEATHER_FUNCTION],  # type: ignore[list-item]
        )
        (call,) = response.output
        assert call.type == "function_call" and call.name == "get_weather"
        done = client.responses.create(
            model="mock-gpt",
            previous_response_id=response.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
            tools=[WEATHER_FUNCTION],  # type: ignore[list-item]
        )
        assert done.output_text == EXPECTED


def test_sdk_responses_stream(server: Server) -> None:
    with sdk(server) as client:
        with client.responses.stream(model="mock-gpt", input="Hello") as stream:
            deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
            final = stream.get_final_response()
        assert "".join(deltas) == EXPECTED == final.output_text
        raw = client.responses.create(model="mock-gpt", input="Hello", stream=True)
        kinds = [event.type for event in raw]
        assert kinds[0] == "response.created" and kinds[-1] == "response.completed"


def test_sdk_responses_stream_error(server: Server) -> None:
    with sdk(server) as client:
        raw = client.responses.create(
            model="mock-gpt",
            input="Hello",
            stream=True,
            extra_headers={"x-mock-fault": "stream_error"},
        )
        kinds = [event.type for event in raw]
        assert kinds[-2:] == ["error", "response.failed"]


def test_sdk_responses_parse(server: Server) -> None:
    with sdk(server) as client:
        parsed = client.responses.parse(model="mock-gpt", input="Forecast?", text_format=Forecast)
        assert isinstance(parsed.output_parsed, Forecast)


# -- OpenAI Agents SDK -----------------------------------------------------------


def _agent(server: Server) -> Any:
    from agents import Agent, OpenAIResponsesModel, function_tool, set_tracing_disabled

    set_tracing_disabled(True)
    calls: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Current weather in a city."""
        calls.append(city)
        return f"Sunny in {city}"

    model = OpenAIResponsesModel(model="mock-gpt", openai_client=async_sdk(server))
    agent = Agent(name="forecaster", instructions="Use tools.", tools=[get_weather], model=model)
    return agent, calls


def test_agents_sdk_run(server: Server) -> None:
    from agents import Runner

    agent, calls = _agent(server)
    result = asyncio.run(Runner.run(agent, "What is the get_weather in Paris?"))
    assert len(calls) == 1  # the tool ran once, then the model answered in text
    assert result.final_output == EXPECTED


def test_agents_sdk_run_streamed(server: Server) -> None:
    from agents import Runner

    agent, calls = _agent(server)

    async def run() -> tuple[Any, list[Any]]:
        result = Runner.run_streamed(agent, "What is the weather in Paris?")
        kinds = [event.type async for event in result.stream_events()]
        return result, kinds

    result, kinds = asyncio.run(run())
    assert len(calls) == 1
    assert result.final_output == EXPECTED
    assert "raw_response_event" in kinds and "run_item_stream_event" in kinds


# -- pydantic-ai -----------------------------------------------------------------


def _pydantic_model(server: Server) -> Any:
    from pydantic_ai.models.openai import OpenAIResponsesModel
    from pydantic_ai.providers.openai import OpenAIProvider

    provider = OpenAIProvider(openai_client=async_sdk(server))
    return OpenAIResponsesModel("mock-gpt", provider=provider)


def test_pydantic_ai_default_openai_model_is_the_responses_model() -> None:
    import os

    from pydantic_ai.models import infer_model
    from pydantic_ai.models.openai import OpenAIResponsesModel

    os.environ.setdefault("OPENAI_API_KEY", "sk-unused")
    assert isinstance(infer_model("openai:mock-gpt"), OpenAIResponsesModel)


def test_pydantic_ai_text_and_tools(server: Server) -> None:
    from pydantic_ai import Agent

    agent = Agent(_pydantic_model(server), instructions="Be brief.")
    seen: list[str] = []

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """Current weather in a city."""
        seen.append(city)
        return "sunny"

    result = agent.run_sync("What is the weather in Paris?")
    assert len(seen) == 1 and result.output == EXPECTED


def test_pydantic_ai_structured_output(server: Server) -> None:
    from pydantic_ai import Agent

    agent = Agent(_pydantic_model(server), output_type=Forecast)
    result = agent.run_sync("Forecast for Paris?")
    assert isinstance(result.output, Forecast)


# -- LangChain -------------------------------------------------------------------


def _chat(server: Server) -> Any:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model="mock-gpt",
        base_url=server.url + "/v1",
        api_key="sk-unused",  # type: ignore[arg-type]
        max_retries=0,
        use_responses_api=True,
    )


def test_langchain_responses_invoke_and_stream(server: Server) -> None:
    llm = _chat(server)
    reply = llm.invoke("Hello")
    assert reply.text == EXPECTED
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] == 11
    chunks = list(llm.stream("Hello"))
    assert "".join(chunk.text for chunk in chunks) == EXPECTED


def test_langchain_responses_tools(server: Server) -> None:
    from langchain_core.messages import HumanMessage, ToolMessage
    from langchain_core.tools import tool

    @tool
    def get_weather(city: str) -> str:
        """Current weather in a city."""
        return "sunny"

    llm = _chat(server).bind_tools([get_weather])
    question = HumanMessage("What is the weather in Paris?")
    first = llm.invoke([question])
    (call,) = first.tool_calls
    assert call["name"] == "get_weather" and isinstance(call["args"]["city"], str)
    answer = llm.invoke([question, first, ToolMessage("sunny", tool_call_id=call["id"])])
    assert answer.text == EXPECTED and not answer.tool_calls
