"""vLLM's operational routes: /health, /version, /metrics, /tokenize; and /openapi.json."""

from __future__ import annotations

from typing import Any

import orjson
from sanic import Request, Sanic
from sanic.response import HTTPResponse

from .. import __version__, tokenize_request
from ..metrics import merge
from ..openapi import document
from ..peers import Peers, gather_others
from ..response_store import Elsewhere
from ..state import State


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
        try:
            out = tokenize_request.tokenize(state, request.body)
        except Elsewhere as elsewhere:  # previous_response_id stored by another worker
            await state.responses.fetch(elsewhere.rid)
            out = tokenize_request.tokenize(state, request.body)
        body = {"count": out.count, "max_model_len": settings.max_model_len, "tokens": out.ids}
        return HTTPResponse(orjson.dumps(body), content_type="application/json")

    async def openapi(request: Request) -> HTTPResponse:
        return HTTPResponse(spec, content_type="application/json")

    app.add_route(health, "/health", methods=["GET"], name="health")
    app.add_route(get_version, "/version", methods=["GET"], name="version")
    app.add_route(metrics, "/metrics", methods=["GET"], name="metrics")
    app.add_route(tokenize, "/tokenize", methods=["POST"], name="tokenize")
    app.add_route(openapi, "/openapi.json", methods=["GET"], name="openapi")
