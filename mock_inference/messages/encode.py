"""Render a Turn as Anthropic's message object or as its event stream (pure).

Both forms come from the same Turn, so the streamed text and tool input equal the
non-streamed ones. Stream order, as the API sends it: message_start, then per block
content_block_start, content_block_delta... (text_delta / input_json_delta),
content_block_stop, with one ping after the first block starts; then message_delta
(stop_reason, stop_sequence, usage) and message_stop. Every event has its `event:`
line, which the SDKs dispatch on.
"""

from __future__ import annotations

from typing import Any

import orjson

from .ids import new_id
from .turn import Block, Turn

PING = b'event: ping\ndata: {"type":"ping"}\n\n'
MESSAGE_STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


def message_id() -> str:
    return new_id("msg_")


def usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def _block(block: Block) -> dict[str, Any]:
    if block.type == "text":
        return {"type": "text", "text": block.text}
    # The input JSON was generated as text; Fragment embeds it without re-parsing.
    # An input cut by max_tokens is not JSON: the API then returns what it has, here {}.
    data = orjson.Fragment(block.text) if block.complete else {}
    return {"type": "tool_use", "id": block.id, "name": block.name, "input": data}


def message(mid: str, model: str, turn: Turn, input_tokens: int) -> bytes:
    return orjson.dumps(
        {
            "id": mid,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [_block(b) for b in turn.blocks],
            "stop_reason": turn.stop_reason,
            "stop_sequence": turn.stop_sequence,
            "usage": usage(input_tokens, turn.output_tokens),
        }
    )


def _event(name: bytes, data: dict[str, Any]) -> bytes:
    return b"event: " + name + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def message_start(mid: str, model: str, input_tokens: int) -> bytes:
    return _event(
        b"message_start",
        {
            "type": "message_start",
            "message": {
                "id": mid,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": usage(input_tokens, 1),
            },
        },
    )


def block_start(index: int, block: Block) -> bytes:
    if block.type == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
    else:
        start = {"type": "tool_use", "id": block.id, "name": block.name, "input": {}}
    return _event(
        b"content_block_start",
        {"type": "content_block_start", "index": index, "content_block": start},
    )


class Deltas:
    """content_block_delta events of one block, with the constant part pre-rendered."""

    __slots__ = ("head", "key")

    def __init__(self, index: int, block: Block) -> None:
        kind, self.key = (
            (b"text_delta", b"text")
            if block.type == "text"
            else (b"input_json_delta", b"partial_json")
        )
        self.head = (
            b'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
            + str(index).encode()
            + b',"delta":{"type":"'
            + kind
            + b'","'
            + self.key
            + b'":'
        )

    def __call__(self, piece: str) -> bytes:
        return self.head + orjson.dumps(piece) + b"}}\n\n"


def block_stop(index: int) -> bytes:
    return _event(b"content_block_stop", {"type": "content_block_stop", "index": index})


def message_delta(turn: Turn) -> bytes:
    return _event(
        b"message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": turn.stop_reason, "stop_sequence": turn.stop_sequence},
            "usage": {"output_tokens": turn.output_tokens},
        },
    )


def count_tokens(input_tokens: int) -> bytes:
    return orjson.dumps({"input_tokens": input_tokens})
