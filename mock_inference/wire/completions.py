"""Legacy completions on the wire: the body and the chunk stream of a Turn."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from .. import choices as choice_builder
from .. import logprobs, validation
from ..choices import Choice
from ..flow import OpenAIShaped
from ..fresh import now
from ..ids import new_id
from ..reply import Reply
from ..sse import DONE, ChunkFrame, error_event
from ..state import State
from ..turn import Turn


class CompletionsEndpoint(OpenAIShaped):
    route = "/v1/completions"

    def decode(self, state: State, body: bytes) -> validation.CompletionRequest:
        req = validation.completion(validation.parse_json(body), state.settings.model_name)
        state.check_model(req.common.model)
        return req

    def reusable(self, req: validation.CompletionRequest) -> bool:
        return True

    def prompt_tokens(self, req: validation.CompletionRequest) -> int:
        return sum(tokens for _, tokens in req.prompts)

    def streams(self, req: validation.CompletionRequest) -> bool:
        return req.common.stream

    def generate(
        self, state: State, req: validation.CompletionRequest, headers: Mapping[str, str]
    ) -> Turn:
        built = choice_builder.build_completions(req, state.pick_strategy(headers))
        return Turn(built, self.prompt_tokens(req))

    def encode(self, state: State, req: validation.CompletionRequest, turn: Turn) -> Reply:
        cid = new_id("cmpl-")
        body = {
            "id": cid,
            "object": "text_completion",
            "created": now(),
            "model": req.common.model,
            "choices": [_final(c, req.logprobs) for c in turn.choices],
            "usage": turn.usage(),
            "system_fingerprint": None,
        }
        return Reply(200, orjson.dumps(body), {"x-request-id": cid})

    def stream(
        self, state: State, req: validation.CompletionRequest, turn: Turn
    ) -> CompletionsStream:
        return CompletionsStream(req, turn)


class CompletionsStream:
    """The echoed prompts (if asked), one chunk per token, a chunk with the finish
    reason, the usage chunk if asked for, `[DONE]`."""

    def __init__(self, req: validation.CompletionRequest, turn: Turn) -> None:
        self.req = req
        self.turn = turn
        self.request_id = new_id("cmpl-")
        common = req.common
        self.frame = ChunkFrame(
            self.request_id, "text_completion", now(), common.model,
            common.include_usage,
        )  # fmt: skip

    def headers(self) -> dict[str, str]:
        return {"x-request-id": self.request_id}

    def preamble(self) -> Iterable[bytes]:
        return ()

    def opening(self) -> Iterable[bytes]:
        if self.req.echo:
            for c in self.turn.choices:
                yield self.frame.chunk([_chunk(c.index, c.prefix, None)])

    def step(self, k: int) -> Iterable[bytes]:
        top = self.req.logprobs
        for c in self.turn.choices:
            if k < len(c.pieces):
                lp = logprobs.legacy((c.pieces[k],), top) if top else None
                yield self.frame.chunk([_chunk(c.index, c.pieces[k], None, lp)])

    def closing(self) -> Iterable[bytes]:
        for c in self.turn.choices:
            yield self.frame.chunk([_chunk(c.index, "", c.finish_reason)])
        if self.req.common.include_usage:
            yield self.frame.usage(self.turn.usage())
        yield DONE

    def failure(self, message: str) -> bytes:
        return error_event(message)


def _chunk(
    index: int, text: str, finish: str | None, lp: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"index": index, "text": text, "logprobs": lp, "finish_reason": finish}


def _final(c: Choice, top: int | None) -> dict[str, Any]:
    lp = None
    if top is not None:
        lp = logprobs.legacy(c.pieces, top, offset=len(c.prefix))
    return {
        "index": c.index,
        "text": c.prefix + (c.content or ""),
        "logprobs": lp,
        "finish_reason": c.finish_reason,
    }


COMPLETIONS = CompletionsEndpoint()
