"""vLLM's operational routes: /health, /version, /metrics, /tokenize; and /openapi.json."""

from __future__ import annotations

from typing import Any

import orjson
from sanic import Request, Sanic
from sanic.response import HTTPResponse

from .. import __version__, validation
from ..metrics import merge
from ..openapi import document
from ..peers import Peers, gather_others
from ..state import State
from ..tokenizer import token_id, token_ids

_ROLE_BASE = 100_000  # ids for the template's role markers, above ordinary pieces


def register(app: Sanic[Any, Any], state: State, peers: Peers | None = None) -> None:
    settings = state.settings
    version = orjson.dumps({"version": f"{__version__}-mock"})
    spec = orjson.dumps(document(settings))

    async def health(request: Request) -> HTTPResponse:
        return HTTPResponse(b"", status=200, content_type="text/plain; charset=utf-8")

    async def get_version(request: Request) -> HTTPResponse:
        return HTTPResponse(version, content_type="application/json")

    async def metrics(request: Request) -> HTTPResponse:
        text = state.metrics.render()
        if peers is not None:
            text = merge([text, *await gather_others(peers)])
        return HTTPResponse(text.encode(), content_type="text/plain; version=0.0.4; charset=utf-8")

    async def tokenize(request: Request) -> HTTPResponse:
        body = validation.parse_json(request.body)
        req = validation.tokenize(body, settings.model_name)
        state.check_model(req.model)
        if "messages" in body:
            # Same count as chat usage: 3 template tokens per message, 3 to prime the reply.
            tokens: list[int] = []
            for msg in body["messages"]:
                tokens += [_ROLE_BASE + token_id(msg["role"]) % 1000, 1, 2]
                tokens += token_ids(validation.content_text(msg.get("content"), "", msg["role"]))
                if msg.get("tool_calls") is not None:
                    tokens += token_ids(orjson.dumps(msg["tool_calls"]).decode())
            tokens += [_ROLE_BASE + token_id("assistant") % 1000, 1, 2]
        else:
            tokens = token_ids(req.text)
        out = {"count": len(tokens), "max_model_len": settings.max_model_len, "tokens": tokens}
        return HTTPResponse(orjson.dumps(out), content_type="application/json")

    async def openapi(request: Request) -> HTTPResponse:
        return HTTPResponse(spec, content_type="application/json")

    app.add_route(health, "/health", methods=["GET"], name="health")
    app.add_route(get_version, "/version", methods=["GET"], name="version")
    app.add_route(metrics, "/metrics", methods=["GET"], name="metrics")
    app.add_route(tokenize, "/tokenize", methods=["POST"], name="tokenize")
    app.add_route(openapi, "/openapi.json", methods=["GET"], name="openapi")
