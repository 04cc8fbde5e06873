"""Server-Sent Events framing shared by the streaming routes."""

from __future__ import annotations

from typing import Any

import orjson

DONE = b"data: [DONE]\n\n"
HEADERS_BASE = {"cache-control": "no-cache"}


def event(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"


def error_event(message: str, code: int = 500) -> bytes:
    # The openai SDK raises on an event whose data carries a top-level "error".
    return event(
        orjson.dumps(
            {"error": {"message": message, "type": "server_error", "param": None, "code": code}}
        )
    )


class ChunkFrame:
    """Pre-rendered head and tail of every chunk of one response.

    id, created and model are the same on every chunk, so they are serialised once
    and only the `choices` part is encoded per event.
    """

    __slots__ = ("head", "tail", "usage_head")

    def __init__(self, cid: str, obj: str, created: int, model: str, include_usage: bool) -> None:
        self.head = (
            b'data: {"id":'
            + orjson.dumps(cid)
            + b',"object":"'
            + obj.encode()
            + b'","created":'
            + str(created).encode()
            + b',"model":'
            + orjson.dumps(model)
            + b',"system_fingerprint":null,"choices":'
        )
        self.tail = b',"usage":null}\n\n' if include_usage else b"}\n\n"

    def chunk(self, choices: list[dict[str, Any]]) -> bytes:
        return self.head + orjson.dumps(choices) + self.tail

    def usage(self, usage: dict[str, int]) -> bytes:
        return self.head + b'[],"usage":' + orjson.dumps(usage) + b"}\n\n"
