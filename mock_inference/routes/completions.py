"""POST /v1/completions: legacy text completions, streamed and not."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import orjson
from sanic import Request, Sanic
from sanic.response import HTTPResponse

from .. import logprobs, validation
from ..errors import APIError, error_reply
from ..faults import Faults
from ..ids import new_id
from ..reply import Reply, Waiting
from ..sse import DONE, HEADERS_BASE, ChunkFrame, error_event
from ..state import State
from ..textgen import Prompt, make_rng, shape
from ..timing import Timing, timing_for

_ROUTE = "/v1/completions"


@dataclass(slots=True)
class _Choice:
    index: int
    prefix: str  # the echoed prompt, when echo is on
    text: str
    pieces: tuple[str, ...]
    finish_reason: str


def _build(state: State, req: validation.CompletionRequest, headers: Any) -> list[_Choice]:
    common = req.common
    strategy = state.pick_strategy(headers)
    built: list[_Choice] = []
    for p, (text, _) in enumerate(req.prompts):
        for i in range(common.n):
            rng = make_rng(common.seed, common.temperature, i, text)
            shaped = shape(strategy.reply(Prompt(text, text), rng), common.max_tokens, common.stop)
            built.append(
                _Choice(
                    p * common.n + i,
                    text if req.echo else "",
                    shaped.text,
                    shaped.pieces,
                    shaped.finish_reason,
                )
            )
    return built


def _usage(prompt_tokens: int, built: list[_Choice]) -> dict[str, int]:
    completion_tokens = sum(len(c.pieces) for c in built)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _completion(
    state: State,
    req: validation.CompletionRequest,
    built: list[_Choice],
    prompt_tokens: int,
    timing: Timing,
    started: float,
) -> Reply:
    metrics = state.metrics
    usage = _usage(prompt_tokens, built)
    cid = new_id("cmpl-")
    body = {
        "id": cid,
        "object": "text_completion",
        "created": int(time.time()),
        "model": req.common.model,
        "choices": [_final(c, req.logprobs) for c in built],
        "usage": usage,
        "system_fingerprint": None,
    }
    elapsed = time.perf_counter() - started
    metrics.ttft.observe(timing.ttft if timing.ttft > 0 else elapsed)
    metrics.finished(prompt_tokens, usage["completion_tokens"], built[0].finish_reason, elapsed)
    metrics.http[(_ROUTE, 200)] += 1
    return Reply(200, orjson.dumps(body), {"x-request-id": cid})


def answer_now(
    state: State, method: str, path: str, headers: Any, body: bytes
) -> Reply | Waiting[validation.CompletionRequest]:
    """The whole answer, or the validated request if it has to wait; see chat.answer_now."""
    started = time.perf_counter()
    settings = state.settings
    try:
        state.authorize(headers)
        req = validation.completion(validation.parse_json(body), settings.model_name)
        state.check_model(req.common.model)
        prompt_tokens = sum(tokens for _, tokens in req.prompts)
        timing = timing_for(settings, headers, prompt_tokens)
        if req.common.stream or not timing.zero or Faults.forced_wait(headers):
            return Waiting(req, timing, started)
        state.faults.check(method, path, headers, body)
        built = _build(state, req, headers)
    except APIError as exc:
        state.metrics.http[(_ROUTE, exc.status_code)] += 1
        return error_reply(exc)
    return _completion(state, req, built, prompt_tokens, timing, started)


def register(app: Sanic, state: State) -> None:
    settings = state.settings
    metrics = state.metrics

    async def completions(request: Request) -> HTTPResponse | None:
        answer = answer_now(state, request.method, request.path, request.headers, request.body)
        if isinstance(answer, Reply):
            return answer.to_sanic()
        # The waiting path: streams, simulated latency, forced timeouts.
        req, timing, started = answer.request, answer.timing, answer.started
        common = req.common
        prompt_tokens = sum(tokens for _, tokens in req.prompts)
        deferred = state.faults.check(request.method, request.path, request.headers, request.body)
        built = _build(state, req, request.headers)
        metrics.running += 1
        try:
            if deferred == "timeout":
                await asyncio.sleep(settings.timeout_fault_seconds)
            if not common.stream:
                longest = max(len(c.pieces) for c in built)
                await asyncio.sleep(timing.ttft + timing.itl * max(0, longest - 1))
                return _completion(state, req, built, prompt_tokens, timing, started).to_sanic()
            await _stream(request, state, req, built, prompt_tokens, timing, deferred, started)
            return None
        finally:
            metrics.running -= 1

    app.add_route(completions, _ROUTE, methods=["POST"], name="completions")


async def _stream(
    request: Request,
    state: State,
    req: validation.CompletionRequest,
    built: list[_Choice],
    prompt_tokens: int,
    timing: Timing,
    deferred: str | None,
    started: float,
) -> None:
    metrics = state.metrics
    common = req.common
    usage = _usage(prompt_tokens, built)
    cid = new_id("cmpl-")
    frame = ChunkFrame(cid, "text_completion", int(time.time()), common.model, common.include_usage)
    response = await request.respond(
        content_type="text/event-stream", headers={**HEADERS_BASE, "x-request-id": cid}
    )
    if timing.ttft > 0:
        await asyncio.sleep(timing.ttft)
    metrics.ttft.observe(time.perf_counter() - started)
    if req.echo:
        for c in built:
            await response.send(frame.chunk([_chunk(c.index, c.prefix, None)]))
    longest = max(len(c.pieces) for c in built)
    fail_at = longest // 2 if deferred == "stream_error" else -1
    for k in range(longest):
        if k == fail_at:
            await response.send(error_event("Injected mid-stream failure (x-mock-fault)"))
            await response.eof()
            return
        if k and timing.itl > 0:
            await asyncio.sleep(timing.itl)
        for c in built:
            if k < len(c.pieces):
                lp = logprobs.legacy((c.pieces[k],), req.logprobs) if req.logprobs else None
                await response.send(frame.chunk([_chunk(c.index, c.pieces[k], None, lp)]))
    for c in built:
        await response.send(frame.chunk([_chunk(c.index, "", c.finish_reason)]))
    if common.include_usage:
        await response.send(frame.usage(usage))
    await response.send(DONE)
    await response.eof()
    elapsed = time.perf_counter() - started
    metrics.finished(prompt_tokens, usage["completion_tokens"], built[0].finish_reason, elapsed)
    metrics.http[(_ROUTE, 200)] += 1


def _chunk(
    index: int, text: str, finish: str | None, lp: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"index": index, "text": text, "logprobs": lp, "finish_reason": finish}


def _final(c: _Choice, top: int | None) -> dict[str, Any]:
    lp = None
    if top is not None:
        lp = logprobs.legacy(c.pieces, top, offset=len(c.prefix))
    return {
        "index": c.index,
        "text": c.prefix + c.text,
        "logprobs": lp,
        "finish_reason": c.finish_reason,
    }
