"""POST /v1/messages (streamed and not) and POST /v1/messages/count_tokens.

`POST /v1/messages` is a flow.Endpoint (messages/endpoint.py) behind the handler
every generating API has (routes/generation.py); count_tokens generates nothing and
has its own. `reshape` puts Sanic's own errors on these routes in Anthropic's shape.
"""

from __future__ import annotations

from typing import Any

import orjson
from sanic import Request, Sanic
from sanic.response import HTTPResponse

from ..messages.endpoint import COUNT_ROUTE, MessagesEndpoint
from ..messages.errors import body, request_id
from ..state import State
from . import generation
from .respond import to_sanic


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


def register(app: Sanic[Any, Any], state: State) -> MessagesEndpoint:
    endpoint = MessagesEndpoint(state.settings.api_keys)
    generation.register(app, state, endpoint, "messages")

    async def count_tokens(request: Request) -> HTTPResponse:
        method, path, headers = request.method, request.path, request.headers
        return to_sanic(endpoint.count_now(state, method, path, headers, request.body))

    app.add_route(count_tokens, COUNT_ROUTE, methods=["POST"], name="messages_count_tokens")
    return endpoint
