"""GET /v1/models and GET /v1/models/{id}, in vLLM's shape (OpenAI's plus extras)."""

from __future__ import annotations

from typing import Any

import orjson
from sanic import Request, Sanic
from sanic.response import HTTPResponse

from ..errors import APIError
from ..state import State


def _card(state: State, model_id: str) -> dict[str, Any]:
    return {
        "id": model_id,
        "object": "model",
        "created": state.created,
        "owned_by": "vllm",
        "root": model_id,
        "parent": None,
        "max_model_len": state.settings.max_model_len,
    }


def register(app: Sanic[Any, Any], state: State) -> None:
    listing = orjson.dumps({"object": "list", "data": [_card(state, m) for m in state.models]})

    async def list_models(request: Request) -> HTTPResponse:
        state.admit(request)
        state.metrics.http[("/v1/models", 200)] += 1
        return HTTPResponse(listing, content_type="application/json")

    async def get_model(request: Request, model_id: str) -> HTTPResponse:
        state.admit(request)
        if model_id not in state.model_set:
            raise APIError(
                404,
                f"The model `{model_id}` does not exist or you do not have access to it.",
                param="model",
                code="model_not_found",
            )
        state.metrics.http[("/v1/models/{id}", 200)] += 1
        return HTTPResponse(orjson.dumps(_card(state, model_id)), content_type="application/json")

    app.add_route(list_models, "/v1/models", methods=["GET"], name="list_models")
    # `path` so that ids with a slash (org/model, as on Hugging Face) resolve.
    app.add_route(get_model, "/v1/models/<model_id:path>", methods=["GET"], name="get_model")
