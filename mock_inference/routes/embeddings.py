"""POST /v1/embeddings: deterministic vectors, float or base64 (little-endian float32)."""

from __future__ import annotations

import time

import orjson
from sanic import Request, Sanic
from sanic.response import HTTPResponse

from .. import validation, vectors
from ..state import State
from ..tokenizer import count

_ROUTE = "/v1/embeddings"


def register(app: Sanic, state: State) -> None:
    settings = state.settings
    metrics = state.metrics

    async def embeddings(request: Request) -> HTTPResponse:
        started = time.perf_counter()
        state.admit(request)
        req = validation.embedding(validation.parse_json(request.body), settings.model_name)
        state.check_model(req.model)
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
        body = {
            "object": "list",
            "data": data,
            "model": req.model,
            "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
        }
        metrics.prompt_tokens += prompt_tokens
        metrics.e2e.observe(time.perf_counter() - started)
        metrics.http[(_ROUTE, 200)] += 1
        return HTTPResponse(orjson.dumps(body), content_type="application/json")

    app.add_route(embeddings, _ROUTE, methods=["POST"], name="embeddings")
