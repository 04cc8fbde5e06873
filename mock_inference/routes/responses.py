"""GET and DELETE /v1/responses/{id}: stored responses (POST is routes/generation.py)."""

from __future__ import annotations

from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from ..state import State
from ..wire.responses import ROUTE, delete_stored, get_stored
from .respond import to_sanic


def register(app: Sanic[Any, Any], state: State) -> None:
    async def get_response(request: Request, response_id: str) -> HTTPResponse:
        return to_sanic(await get_stored(state, request.headers, response_id))

    async def delete_response(request: Request, response_id: str) -> HTTPResponse:
        return to_sanic(await delete_stored(state, request.headers, response_id))

    path = ROUTE + "/<response_id:str>"
    app.add_route(get_response, path, methods=["GET"], name="get_response")
    app.add_route(delete_response, path, methods=["DELETE"], name="delete_response")
