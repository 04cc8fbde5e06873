"""A finished answer as plain data, so one handler serves Sanic and the fast path.

Sanic turns it into an HTTPResponse (`routes.respond.to_sanic`);
`fastpath.FastPathProtocol` writes it to the socket itself. Both therefore send the
same status, headers and body. Imports nothing of the package: errors, timing and
waiting build on it, never the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus

_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    # A Responses API answer to keep (`store: true`): its id and stored record. Kept by
    # whoever sends the reply, so that encoding it stays free of side effects.
    keep: tuple[str, bytes | Callable[[], bytes]] | None = None
    # The whole keep-alive HTTP/1.1 response, when already made (memo.Template).
    wire: bytes | None = None

    def to_http1(self, keep_alive: bool = True) -> bytes:
        """The bytes Sanic would send for this reply (same header order and values)."""
        if self.wire is not None and keep_alive:
            return self.wire
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
