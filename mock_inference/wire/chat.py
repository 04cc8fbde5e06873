"""Chat Completions on the wire: the body and the chunk stream of a Turn."""

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


def message(choice: Choice) -> dict[str, Any]:
    if choice.tool_call is not None:
        call = choice.tool_call
        return {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
            ],
        }
    return {"role": "assistant", "content": choice.content, "refusal": None}


class ChatEndpoint(OpenAIShaped):
    route = "/v1/chat/completions"

    def decode(self, state: State, body: bytes) -> validation.ChatRequest:
        req = validation.chat(validation.parse_json(body), state.settings.model_name)
        state.check_model(req.common.model)
        return req

    def reusable(self, req: validation.ChatRequest) -> bool:
        return True

    def prompt_tokens(self, req: validation.ChatRequest) -> int:
        return req.prompt_tokens

    def streams(self, req: validation.ChatRequest) -> bool:
        return req.common.stream

    def generate(
        self, state: State, req: validation.ChatRequest, headers: Mapping[str, str]
    ) -> Turn:
        strategy = state.pick_strategy(headers)
        return Turn(
            choice_builder.build(req, strategy, state.settings.auto_tool_calls), req.prompt_tokens
        )

    def encode(self, state: State, req: validation.ChatRequest, turn: Turn) -> Reply:
        cid = new_id("chatcmpl-")
        body = {
            "id": cid,
            "object": "chat.completion",
            "created": now(),
            "model": req.common.model,
            "choices": [
                {
                    "index": c.index,
                    "message": message(c),
                    "logprobs": {
                        "content": logprobs.chat_entries(c.pieces, req.top_logprobs),
                        "refusal": None,
                    }
                    if req.logprobs
                    else None,
                    "finish_reason": c.finish_reason,
                }
                for c in turn.choices
            ],
            "usage": turn.usage(),
            "system_fingerprint": None,
        }
        return Reply(200, orjson.dumps(body), {"x-request-id": cid})

    def stream(self, state: State, req: validation.ChatRequest, turn: Turn) -> ChatStream:
        return ChatStream(req, turn)


class ChatStream:
    """A first delta with the role (or the call's id and name), one chunk per token,
    a chunk with the finish reason, the usage chunk if asked for, `[DONE]`."""

    def __init__(self, req: validation.ChatRequest, turn: Turn) -> None:
        self.req = req
        self.turn = turn
        self.request_id = new_id("chatcmpl-")
        common = req.common
        self.frame = ChunkFrame(
            self.request_id,
            "chat.completion.chunk",
            now(),
            common.model,
            common.include_usage,
        )

    def headers(self) -> dict[str, str]:
        return {"x-request-id": self.request_id}

    def preamble(self) -> Iterable[bytes]:
        return ()

    def opening(self) -> Iterable[bytes]:
        for c in self.turn.choices:
            yield self.frame.chunk(
                [
                    {
                        "index": c.index,
                        "delta": _first_delta(c),
                        "logprobs": None,
                        "finish_reason": None,
                    }
                ]  # fmt: skip
            )

    def step(self, k: int) -> Iterable[bytes]:
        for c in self.turn.choices:
            if k < len(c.steps):
                yield self.frame.chunk([_piece_choice(c, k, self.req)])

    def closing(self) -> Iterable[bytes]:
        for c in self.turn.choices:
            yield self.frame.chunk(
                [
                    {
                        "index": c.index,
                        "delta": {},
                        "logprobs": None,
                        "finish_reason": c.finish_reason,
                    }
                ]  # fmt: skip
            )
        if self.req.common.include_usage:
            yield self.frame.usage(self.turn.usage())
        yield DONE

    def failure(self, message: str) -> bytes:
        return error_event(message)


def _first_delta(c: Choice) -> dict[str, Any]:
    if c.tool_call is None:
        return {"role": "assistant", "content": "", "refusal": None}
    call = c.tool_call
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "index": 0,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
        ],
    }


def _piece_choice(c: Choice, k: int, req: validation.ChatRequest) -> dict[str, Any]:
    if c.tool_call is not None:
        piece = c.tool_call.pieces[k]
        return {
            "index": c.index,
            "delta": {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]},
            "logprobs": None,
            "finish_reason": None,
        }
    piece = c.pieces[k]
    lp = (
        {"content": logprobs.chat_entries((piece,), req.top_logprobs), "refusal": None}
        if req.logprobs
        else None
    )
    return {"index": c.index, "delta": {"content": piece}, "logprobs": lp, "finish_reason": None}


CHAT = ChatEndpoint()
