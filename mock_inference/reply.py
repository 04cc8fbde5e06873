"""A finished answer as plain data, so one handler serves Sanic and the fast path.

Sanic turns it into an HTTPResponse; `fastpath.FastPathProtocol` writes it to the
socket itself. Both therefore send the same status, headers and body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Generic, TypeVar

from sanic.response import HTTPResponse

if TYPE_CHECKING:  # timing imports errors, which imports this module
    from .timing import Timing

R = TypeVar("R")

_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def to_sanic(self) -> HTTPResponse:
        return HTTPResponse(
            self.body, status=self.status, headers=self.headers, content_type=self.content_type
        )

    def to_http1(self, keep_alive: bool = True) -> bytes:
        """The bytes Sanic would send for this reply (same header order and values)."""
        head = [b"HTTP/1.1 %d %s\r\n" % (self.status, _REASONS.get(self.status, b"Unknown"))]
        for name, value in self.headers.items():
            head.append(f"{name}: {value}\r\n".encode())
        head.append(
            b"content-length: %d\r\nconnection: %s\r\ncontent-type: %s\r\n\r\n"
            % (
                len(self.body),
                b"keep-alive" if keep_alive else b"close",
                self.content_type.encode(),
            )
        )
        head.append(self.body)
        return b"".join(head)


@dataclass(slots=True)
class Waiting(Generic[R]):
    """A valid request whose answer has to wait (a stream, simulated latency, a forced
    timeout). Nothing has been counted or drawn for it yet, so the fast path can hand
    it to Sanic, and the Sanic route carries on from here without validating again."""

    request: R
    timing: Timing
    started: float  # time.perf_counter() when the request arrived
