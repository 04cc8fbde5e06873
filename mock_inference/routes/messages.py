"""POST /v1/messages (streamed and not) and POST /v1/messages/count_tokens.

Same structure as routes/chat.py: `answer_now` computes a whole answer without
waiting (the fast path calls it too) or hands back the validated request when the
answer has to wait (a stream, simulated latency, a forced timeout or stream_error).
Latency, injected faults and metrics are the shared ones; errors are rendered in
Anthropic's shape (messages/errors.py).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from sanic import Request, Sanic
from sanic.response import HTTPResponse

from .. import validation
from ..errors import APIError
from ..flow import answer_entry, fail_point, record_answer
from ..memo import Entry
from ..messages import decode, encode
from ..messages.errors import KeyCheck, body, error_reply, request_id, stream_error
from ..messages.turn import Turn, build
from ..reply import Reply
from ..sse import HEADERS_BASE
from ..state import State
from ..timing import Timing
from ..turn import Counts
from ..waiting import Waiting
from .respond import to_sanic

ROUTE = "/v1/messages"
COUNT_ROUTE = "/v1/messages/count_tokens"


class MessagesAPI:
    """The Messages routes of one worker, bound to its State."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.check_key = KeyCheck(state.settings.api_keys)

    def _check_model(self, model: str) -> None:
        state = self.state
        if model not in state.model_set and not state.settings.accept_unknown_models:
            raise APIError(404, f"model: {model}", type_="not_found_error")

    def answer_now(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> Reply | Waiting[decode.MessagesRequest]:
        """A message or an Anthropic error, or (for a request that has to wait) the
        validated request with nothing counted yet. As flow.answer_now: a body seen
        before is not decoded again, and its answer may come from a template."""
        started = time.perf_counter()
        state = self.state
        memo = state.memo
        try:
            self.check_key(headers)
            entry = memo.lookup(ROUTE, body)
            if entry is None:
                req = decode.messages(validation.parse_json(body))
                self._check_model(req.model)
                entry = memo.remember(ROUTE, body, Entry(req, req.input_tokens, req.stream))
            else:
                req = entry.request

            def generate() -> tuple[Reply, Counts]:
                turn = build(req, state.pick_strategy(headers), state.settings.auto_tool_calls)
                return _message(req, turn), _counts(req, turn)

            return answer_entry(state, ROUTE, entry, method, path, headers, body, started, generate)
        except APIError as exc:
            state.metrics.http[(ROUTE, exc.status_code)] += 1
            return error_reply(exc)

    def count_now(self, method: str, path: str, headers: Any, body: bytes) -> Reply:
        state = self.state
        try:
            self.check_key(headers)
            req = decode.messages(validation.parse_json(body), count_only=True)
            self._check_model(req.model)
            state.faults.check(method, path, headers, body)
        except APIError as exc:
            state.metrics.http[(COUNT_ROUTE, exc.status_code)] += 1
            return error_reply(exc)
        state.metrics.http[(COUNT_ROUTE, 200)] += 1
        return Reply(200, encode.count_tokens(req.input_tokens), {"request-id": request_id()})

    async def handle(self, request: Request) -> HTTPResponse | None:
        answer = self.answer_now(request.method, request.path, request.headers, request.body)
        if isinstance(answer, Reply):
            return to_sanic(answer)
        state = self.state
        req, timing, started = answer.request, answer.timing, answer.started
        try:
            deferred = state.faults.check(
                request.method, request.path, request.headers, request.body
            )
            turn = build(req, state.pick_strategy(request.headers), state.settings.auto_tool_calls)
        except APIError as exc:
            state.metrics.http[(ROUTE, exc.status_code)] += 1
            return to_sanic(error_reply(exc))
        state.metrics.running += 1
        try:
            if deferred == "timeout":
                await asyncio.sleep(state.settings.timeout_fault_seconds)
            if req.stream:
                await self._stream(request, req, turn, timing, deferred, started)
                return None
            await asyncio.sleep(timing.ttft + timing.itl * max(0, turn.output_tokens - 1))
            reply = _message(req, turn)
            record_answer(state.metrics, ROUTE, _counts(req, turn), timing, started)
            return to_sanic(reply)
        finally:
            state.metrics.running -= 1

    async def handle_count(self, request: Request) -> HTTPResponse:
        return to_sanic(self.count_now(request.method, request.path, request.headers, request.body))

    async def _stream(
        self,
        request: Request,
        req: decode.MessagesRequest,
        turn: Turn,
        timing: Timing,
        deferred: str | None,
        started: float,
    ) -> None:
        metrics = self.state.metrics
        mid = encode.message_id()
        response = await request.respond(
            content_type="text/event-stream; charset=utf-8",
            headers={**HEADERS_BASE, "request-id": request_id()},
        )
        await response.send(encode.message_start(mid, req.model, req.input_tokens))
        total = sum(len(b.pieces) for b in turn.blocks)
        # Half way, as for the other APIs (flow.fail_point); counted as a stream error.
        fail_at = fail_point(total) if deferred == "stream_error" else -1
        sent = 0
        last = started
        for index, block in enumerate(turn.blocks):
            await response.send(encode.block_start(index, block))
            if index == 0:
                await response.send(encode.PING)
            delta = encode.Deltas(index, block)
            for piece in block.pieces:
                if sent == fail_at:
                    break
                if sent == 0:
                    if timing.ttft > 0:
                        await asyncio.sleep(timing.ttft)
                elif timing.itl > 0:
                    await asyncio.sleep(timing.itl)
                await response.send(delta(piece))
                now = time.perf_counter()
                if sent == 0:
                    metrics.ttft.observe(now - started)
                else:
                    metrics.itl.observe(now - last)
                last = now
                sent += 1
            if sent == fail_at:
                await response.send(stream_error("Overloaded (injected by x-mock-fault)"))
                await response.eof()
                metrics.stream_errors += 1
                metrics.http[(ROUTE, 200)] += 1
                return
            await response.send(encode.block_stop(index))
        await response.send(encode.message_delta(turn) + encode.MESSAGE_STOP)
        await response.eof()
        metrics.finished(
            req.input_tokens, turn.output_tokens, turn.finish_reason, time.perf_counter() - started
        )
        metrics.http[(ROUTE, 200)] += 1


def _message(req: decode.MessagesRequest, turn: Turn) -> Reply:
    body = encode.message(encode.message_id(), req.model, turn, req.input_tokens)
    return Reply(200, body, {"request-id": request_id()})


def _counts(req: decode.MessagesRequest, turn: Turn) -> Counts:
    return Counts(req.input_tokens, turn.output_tokens, turn.finish_reason, turn.output_tokens)


def reshape(response: HTTPResponse) -> HTTPResponse:
    """An OpenAI-shaped error response (Sanic's 404/405/413 and the like) in Anthropic's
    shape, same status and headers; error_handlers.register's dialect for /v1/messages."""
    try:
        message = orjson.loads(response.body or b"{}")["error"]["message"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        message = "Request failed"
    rid = request_id()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    headers["request-id"] = rid
    return HTTPResponse(
        body(response.status, str(message), rid),
        status=response.status,
        headers=headers,
        content_type="application/json",
    )


def register(app: Sanic[Any, Any], state: State) -> MessagesAPI:
    api = MessagesAPI(state)
    app.add_route(api.handle, ROUTE, methods=["POST"], name="messages")
    app.add_route(api.handle_count, COUNT_ROUTE, methods=["POST"], name="messages_count_tokens")
    return api
