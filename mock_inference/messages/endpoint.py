"""`POST /v1/messages` as a `flow.Endpoint`, and `POST /v1/messages/count_tokens`.

Waiting, latency, injected faults, remembered answers and metrics are flow.py's, as
for the OpenAI APIs. What is Anthropic's own is here: the key in `x-api-key`
(errors.KeyCheck), errors in Anthropic's shape (faults and the 404 for an unknown
model included), the `request-id` header on replies and streams, and the typed
event stream (`MessagesStream`). No Sanic here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .. import validation
from ..errors import APIError
from ..reply import Reply
from ..state import State
from . import encode
from .decode import MessagesRequest, messages
from .errors import KeyCheck, error_reply, request_id, stream_error
from .turn import Turn, build

ROUTE = "/v1/messages"
COUNT_ROUTE = "/v1/messages/count_tokens"
STREAM_CONTENT_TYPE = "text/event-stream; charset=utf-8"  # what the API sends
STREAM_ERROR = "Overloaded (injected by x-mock-fault)"


class MessagesEndpoint:
    route = ROUTE
    error = staticmethod(error_reply)

    def __init__(self, api_keys: Iterable[str]) -> None:
        self.check_key = KeyCheck(api_keys)

    def authorize(self, state: State, headers: Any) -> None:
        self.check_key(headers)

    @staticmethod
    def check_model(state: State, model: str) -> None:
        if not state.serves(model):
            raise APIError(404, f"model: {model}", type_="not_found_error")

    def decode(self, state: State, body: bytes) -> MessagesRequest:
        req = messages(validation.parse_json(body))
        self.check_model(state, req.model)
        return req

    def reusable(self, req: MessagesRequest) -> bool:
        return True

    def prompt_tokens(self, req: MessagesRequest) -> int:
        return req.input_tokens

    def streams(self, req: MessagesRequest) -> bool:
        return req.stream

    def generate(self, state: State, req: MessagesRequest, headers: Mapping[str, str]) -> Turn:
        return build(req, state.pick_strategy(headers), state.settings.auto_tool_calls)

    def encode(self, state: State, req: MessagesRequest, turn: Turn) -> Reply:
        body = encode.message(encode.message_id(), req.model, turn, req.input_tokens)
        return Reply(200, body, {"request-id": request_id()})

    def stream(self, state: State, req: MessagesRequest, turn: Turn) -> MessagesStream:
        return MessagesStream(req, turn)

    def count_now(self, state: State, method: str, path: str, headers: Any, body: bytes) -> Reply:
        """count_tokens generates nothing: auth, validation and faults, then the count."""
        try:
            self.check_key(headers)
            req = messages(validation.parse_json(body), count_only=True)
            self.check_model(state, req.model)
            state.faults.check(method, path, headers, body)
        except APIError as exc:
            state.metrics.http[(COUNT_ROUTE, exc.status_code)] += 1
            return error_reply(exc)
        state.metrics.http[(COUNT_ROUTE, 200)] += 1
        return Reply(200, encode.count_tokens(req.input_tokens), {"request-id": request_id()})


class MessagesStream:
    """`message_start` at once, then per content block `content_block_start` (one
    `ping` after the first), its `content_block_delta`s and `content_block_stop`;
    then `message_delta` and `message_stop`.

    Token event k is the k-th delta over all blocks in order. A block is stopped
    with the next block's first delta, or at the end, so an injected error (which
    replaces token event k) follows the last delta sent with its block still open,
    as the API's does; a block with no delta is started and stopped where it falls.
    """

    def __init__(self, req: MessagesRequest, turn: Turn) -> None:
        self.req = req
        self.turn = turn
        self.request_id = request_id()
        self.deltas = [encode.Deltas(i, block) for i, block in enumerate(turn.blocks)]
        # token event k -> (its block's index, its piece)
        self.pieces = [(i, piece) for i, block in enumerate(turn.blocks) for piece in block.pieces]
        self.open = -1  # the block started and not yet stopped

    def headers(self) -> dict[str, str]:
        return {"request-id": self.request_id, "content-type": STREAM_CONTENT_TYPE}

    def _up_to(self, index: int) -> Iterator[bytes]:
        """Stop the open block, start and stop those before block `index`, start it."""
        blocks = self.turn.blocks
        while self.open < index:
            if self.open >= 0:
                yield encode.block_stop(self.open)
            self.open += 1
            if self.open < len(blocks):
                yield encode.block_start(self.open, blocks[self.open])
                if self.open == 0:
                    yield encode.PING

    def preamble(self) -> Iterable[bytes]:
        req = self.req
        yield encode.message_start(encode.message_id(), req.model, req.input_tokens)
        yield from self._up_to(0)

    def opening(self) -> Iterable[bytes]:
        return ()

    def step(self, k: int) -> Iterable[bytes]:
        index, piece = self.pieces[k]
        if index == self.open:  # the usual case, kept cheap: no generator
            return (self.deltas[index](piece),)
        return (*self._up_to(index), self.deltas[index](piece))

    def closing(self) -> Iterable[bytes]:
        yield from self._up_to(len(self.turn.blocks))
        yield encode.message_delta(self.turn) + encode.MESSAGE_STOP

    def failure(self, message: str) -> bytes:
        # Anthropic's overloaded_error, in the words the mock has always used for it.
        return stream_error(STREAM_ERROR)
