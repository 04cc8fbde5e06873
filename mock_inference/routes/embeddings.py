"""POST /v1/embeddings: deterministic vectors, float or base64 (little-endian float32)."""

from __future__ import annotations

import time
from typing import Any

import orjson
from sanic import Request, Sanic
from sanic.response import HTTPResponse

from .. import validation, vectors
from ..errors import APIError, error_reply
from ..reply import Reply
from ..state import State
from ..tokenizer import count
from .respond import to_sanic

_ROUTE = "/v1/embeddings"


def answer_now(state: State, method: str, path: str, headers: Any, body: bytes) -> Reply:
    """Embeddings never wait, so the answer (vectors or an OpenAI error) is always ready."""
    started = time.perf_counter()
    settings = state.settings
    metrics = state.metrics
    try:
        state.authorize(headers)
        state.faults.check(method, path, headers, body)
        req = validation.embedding(validation.parse_json(body), settings.model_name)
        state.check_model(req.model)
    except APIError as exc:
        metrics.http[(_ROUTE, exc.status_code)] += 1
        return error_reply(exc)
    dim = req.dimensions or settings.embedding_dim
    data = []
    prompt_tokens = 0
    for i, item in enumerate(req.inputs):
        if isinstance(item, str):
            vector = vectors.embed(item, dim)
            prompt_tokens += count(item)
        else:
            vector = vectors.embed_token_ids(item, dim)
            prompt_tokens += len(item)
        encoded = vectors.to_base64(vector) if req.encoding == "base64" else list(vector)
        data.append({"object": "embedding", "index": i, "embedding": encoded})
    reply = {
        "object": "list",
        "data": data,
        "model": req.model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }
    metrics.prompt_tokens += prompt_tokens
    metrics.e2e.observe(time.perf_counter() - started)
    metrics.http[(_ROUTE, 200)] += 1
    return Reply(200, orjson.dumps(reply))


def register(app: Sanic[Any, Any], state: State) -> None:
    async def embeddings(request: Request) -> HTTPResponse:
        return to_sanic(
            answer_now(state, request.method, request.path, request.headers, request.body)
        )

    app.add_route(embeddings, _ROUTE, methods=["POST"], name="embeddings")
