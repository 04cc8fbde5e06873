"""POST /v1/chat/completions, non-streamed and streamed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from sanic import Request, Sanic
from sanic.response import HTTPResponse

from .. import choices as choice_builder
from .. import logprobs, validation
from ..errors import APIError, error_reply
from ..faults import Faults
from ..ids import new_id
from ..reply import Reply, Waiting
from ..sse import DONE, HEADERS_BASE, ChunkFrame, error_event
from ..state import State
from ..timing import Timing, timing_for

_STREAM_ERROR_AT = 0.5  # fraction of tokens sent before an injected mid-stream error
_ROUTE = "/v1/chat/completions"


def _message(choice: choice_builder.Choice) -> dict[str, Any]:
    if choice.tool_call is not None:
        call = choice.tool_call
        return {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
            ],
        }
    return {"role": "assistant", "content": choice.content, "refusal": None}


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def answer_now(
    state: State, method: str, path: str, headers: Any, body: bytes
) -> Reply | Waiting[validation.ChatRequest]:
    """The whole answer, computed without waiting: a completion or an OpenAI error;
    or, for a request that has to wait (streaming, simulated latency, a forced
    timeout or stream_error), the validated request, with nothing counted yet."""
    started = time.perf_counter()
    settings = state.settings
    try:
        state.authorize(headers)
        req = validation.chat(validation.parse_json(body), settings.model_name)
        state.check_model(req.common.model)
        timing = timing_for(settings, headers, req.prompt_tokens)
        if req.common.stream or not timing.zero or Faults.forced_wait(headers):
            return Waiting(req, timing, started)
        state.faults.check(method, path, headers, body)
        built = choice_builder.build(req, state.pick_strategy(headers), settings.auto_tool_calls)
    except APIError as exc:
        state.metrics.http[(_ROUTE, exc.status_code)] += 1
        return error_reply(exc)
    return _completion(state, req, built, timing, started)


def register(app: Sanic, state: State) -> None:
    settings = state.settings
    metrics = state.metrics
    auto_tools = settings.auto_tool_calls

    async def chat_completions(request: Request) -> HTTPResponse | None:
        answer = answer_now(state, request.method, request.path, request.headers, request.body)
        if isinstance(answer, Reply):
            return answer.to_sanic()
        # The waiting path: streams, simulated latency, forced timeouts.
        req, timing, started = answer.request, answer.timing, answer.started
        deferred = state.faults.check(request.method, request.path, request.headers, request.body)
        built = choice_builder.build(req, state.pick_strategy(request.headers), auto_tools)
        metrics.running += 1
        try:
            if deferred == "timeout":
                await asyncio.sleep(settings.timeout_fault_seconds)
            if req.common.stream:
                await _stream(request, state, req, built, timing, deferred, started)
                return None
            longest = max(c.completion_tokens for c in built)
            await asyncio.sleep(timing.ttft + timing.itl * max(0, longest - 1))
            return _completion(state, req, built, timing, started).to_sanic()
        finally:
            metrics.running -= 1

    app.add_route(chat_completions, _ROUTE, methods=["POST"], name="chat_completions")


def _completion(
    state: State,
    req: validation.ChatRequest,
    built: list[choice_builder.Choice],
    timing: Timing,
    started: float,
) -> Reply:
    metrics = state.metrics
    longest = max(c.completion_tokens for c in built)
    completion_tokens = sum(c.completion_tokens for c in built)
    cid = new_id("chatcmpl-")
    body = {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": req.common.model,
        "choices": [
            {
                "index": c.index,
                "message": _message(c),
                "logprobs": {
                    "content": logprobs.chat_entries(c.pieces, req.top_logprobs),
                    "refusal": None,
                }
                if req.logprobs
                else None,
                "finish_reason": c.finish_reason,
            }
            for c in built
        ],
        "usage": _usage(req.prompt_tokens, completion_tokens),
        "system_fingerprint": None,
    }
    elapsed = time.perf_counter() - started
    metrics.ttft.observe(timing.ttft if timing.ttft > 0 else elapsed)
    if longest > 1:
        metrics.itl.observe(timing.itl, longest - 1)
    metrics.finished(req.prompt_tokens, completion_tokens, built[0].finish_reason, elapsed)
    metrics.http[(_ROUTE, 200)] += 1
    return Reply(200, orjson.dumps(body), {"x-request-id": cid})


def _first_delta(c: choice_builder.Choice) -> dict[str, Any]:
    if c.tool_call is None:
        return {"role": "assistant", "content": "", "refusal": None}
    call = c.tool_call
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "index": 0,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
        ],
    }


def _piece_choice(c: choice_builder.Choice, k: int, req: validation.ChatRequest) -> dict[str, Any]:
    if c.tool_call is not None:
        piece = c.tool_call.pieces[k]
        return {
            "index": c.index,
            "delta": {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]},
            "logprobs": None,
            "finish_reason": None,
        }
    piece = c.pieces[k]
    lp = (
        {"content": logprobs.chat_entries((piece,), req.top_logprobs), "refusal": None}
        if req.logprobs
        else None
    )
    return {"index": c.index, "delta": {"content": piece}, "logprobs": lp, "finish_reason": None}


async def _stream(
    request: Request,
    state: State,
    req: validation.ChatRequest,
    built: list[choice_builder.Choice],
    timing: Timing,
    deferred: str | None,
    started: float,
) -> None:
    metrics = state.metrics
    cid = new_id("chatcmpl-")
    frame = ChunkFrame(
        cid, "chat.completion.chunk", int(time.time()), req.common.model, req.common.include_usage
    )
    response = await request.respond(
        content_type="text/event-stream", headers={**HEADERS_BASE, "x-request-id": cid}
    )
    if timing.ttft > 0:
        await asyncio.sleep(timing.ttft)
    for c in built:
        first = {
            "index": c.index,
            "delta": _first_delta(c),
            "logprobs": None,
            "finish_reason": None,
        }
        await response.send(frame.chunk([first]))
    metrics.ttft.observe(time.perf_counter() - started)

    lengths = [len(c.tool_call.pieces if c.tool_call else c.pieces) for c in built]
    longest = max(lengths)
    fail_at = int(longest * _STREAM_ERROR_AT) if deferred == "stream_error" else -1
    last = time.perf_counter()
    for k in range(longest):
        if k == fail_at:
            await response.send(error_event("Injected mid-stream failure (x-mock-fault)"))
            await response.eof()
            metrics.http[(_ROUTE, 200)] += 1
            return
        if k and timing.itl > 0:
            await asyncio.sleep(timing.itl)
        for c, n in zip(built, lengths, strict=True):
            if k < n:
                await response.send(frame.chunk([_piece_choice(c, k, req)]))
        if k:
            now = time.perf_counter()
            metrics.itl.observe(now - last)
            last = now
    for c in built:
        done = {"index": c.index, "delta": {}, "logprobs": None, "finish_reason": c.finish_reason}
        await response.send(frame.chunk([done]))
    completion_tokens = sum(c.completion_tokens for c in built)
    if req.common.include_usage:
        await response.send(frame.usage(_usage(req.prompt_tokens, completion_tokens)))
    await response.send(DONE)
    await response.eof()
    metrics.finished(
        req.prompt_tokens, completion_tokens, built[0].finish_reason, time.perf_counter() - started
    )
    metrics.http[(_ROUTE, 200)] += 1
