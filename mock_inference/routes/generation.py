"""Sanic routes for the generating APIs: each is an `flow.Endpoint` behind one handler."""

from __future__ import annotations

from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from ..flow import Endpoint, Sink, answer_now, serve_waiting
from ..reply import Reply
from ..response_store import Fetch
from ..state import State
from .respond import to_sanic


def register(app: Sanic[Any, Any], state: State, endpoint: Endpoint[Any, Any], name: str) -> None:
    async def handler(request: Request) -> HTTPResponse | None:
        method, path, headers, body = request.method, request.path, request.headers, request.body
        answer = answer_now(endpoint, state, method, path, headers, body)
        if isinstance(answer, Fetch):  # continues a response another worker stored
            await state.responses.fetch(answer.rid)
            answer = answer_now(endpoint, state, method, path, headers, body)
            assert not isinstance(answer, Fetch)  # now here, or known to be nowhere
        if isinstance(answer, Reply):
            return to_sanic(answer)

        async def respond(stream_headers: dict[str, str]) -> Sink:
            # An encoder may name its own content type (Messages'); Sanic writes it after
            # its framing headers, so it is passed as the content type, not as a header.
            content_type = stream_headers.pop("content-type", "text/event-stream")
            sink: Sink = await request.respond(content_type=content_type, headers=stream_headers)
            return sink

        # The waiting path: streams, simulated latency, forced timeouts.
        reply = await serve_waiting(endpoint, state, answer, method, path, headers, body, respond)
        return None if reply is None else to_sanic(reply)

    app.add_route(handler, endpoint.route, methods=["POST"], name=name)
