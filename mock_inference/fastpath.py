"""A Sanic protocol that answers the plain JSON routes without Sanic's request cycle.

Why: on a 2-core machine Sanic's own HTTP/1 handling (request parsing, the Request
object, response header formatting) took about two thirds of a chat completion, which
kept the mock well below half of the Go mock's requests per second. Here a request is
parsed by httptools (llhttp, the parser uvicorn uses) and answered by the same
`answer_now` function the Sanic route calls, so status, headers and body are the
same either way; only the framing is done here.

Everything else goes to Sanic, byte for byte, and the connection stays with Sanic
from then on: other routes and methods, streams and simulated latency (`answer_now`
returns a `Waiting`, not a `Reply`), `Expect`, chunked or oversized bodies,
`Connection: close`, HTTP/1.0, upgrades, pipelined requests, parse errors and
unexpected exceptions. Nothing is answered or counted before a hand-over, so Sanic
sees a fresh connection (after an unexpected exception, whatever the handler counted
before raising counts twice).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from time import monotonic

import httptools
from sanic.server.protocols.http_protocol import HttpProtocol

from .reply import Reply

log = logging.getLogger("mock_inference")

# answer_now(method, path, headers, body) -> Reply, or anything else to hand over;
# bound to the worker's State.
Answer = Callable[[str, str, Mapping[str, str], bytes], object]
FastRoutes = Mapping[bytes, Answer]

_MAX_HEAD_BYTES = 16 * 1024  # a header block still incomplete past this goes to Sanic


class FastPathProtocol(HttpProtocol):
    __slots__ = (
        "_routes",
        "_parser",
        "_raw",
        "_done",
        "_url",
        "_headers",
        "_body",
        "_targets",
        "_target",
        "_in_message",
        "_head_done",
        "_max_body",
        "_metrics",
        "_write_paused",
    )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[no-untyped-call]
        self._routes: FastRoutes | None = getattr(self.app.ctx, "fast_routes", None) or None
        self._parser: httptools.HttpRequestParser | None = (
            httptools.HttpRequestParser(self) if self._routes else None
        )
        self._raw = bytearray()  # every byte since the last answered request
        # per answered path: its text and its answer function
        self._targets = {
            path: (path.decode(), answer) for path, answer in (self._routes or {}).items()
        }
        self._target: tuple[str, Answer] | None = None
        self._done: list[tuple[tuple[str, Answer] | None, dict[str, str], bytes]] = []
        self._in_message = False
        self._head_done = False
        self._max_body: int = self.app.config.REQUEST_MAX_SIZE
        self._metrics = self.app.ctx.state.metrics
        self._write_paused = False  # Sanic's _can_write, as a plain flag for the hot path

    # -- httptools callbacks: collect only, decide after feed_data returns --------

    def on_message_begin(self) -> None:
        self._in_message = True
        self._head_done = False
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._target = None

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        # As Sanic: names lower-cased, values decoded the same way, first one wins.
        self._headers.setdefault(
            name.decode("utf-8", "surrogateescape").lower(),
            value.decode("utf-8", "surrogateescape"),
        )

    def on_headers_complete(self) -> None:
        self._head_done = True
        parser = self._parser
        headers = self._headers
        length = headers.get("content-length", "0")
        target = self._targets.get(self._url.partition(b"?")[0])
        if (
            target is not None
            and parser is not None
            and parser.get_method() == b"POST"
            and parser.get_http_version() == "1.1"
            and parser.should_keep_alive()
            and not parser.should_upgrade()
            and "expect" not in headers
            and "transfer-encoding" not in headers
            and length.isdigit()
            and int(length) <= self._max_body
        ):
            self._target = target  # eligible

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._in_message = False
        self._done.append((self._target, self._headers, b"".join(self._body)))

    # -- asyncio.Protocol -----------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None or not data:
            super().data_received(data)
            return
        self._raw += data
        try:
            parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            self._hand_over()  # Sanic gives the 400 (or the upgrade) as it always has
            return
        if self._in_message:
            if (self._head_done and self._target is None) or (
                not self._head_done and len(self._raw) > _MAX_HEAD_BYTES
            ):
                self._hand_over()
            return
        done = self._done
        if len(done) != 1 or done[0][0] is None:
            if done:
                self._hand_over()  # ineligible, or pipelined: Sanic keeps their order
            else:
                self._raw.clear()  # only the blank lines HTTP allows between requests
            return
        (path, answer), headers, body = done[0]  # type: ignore[misc]
        try:
            reply = answer("POST", path, headers, body)
        except Exception:
            log.debug("fast path raised; Sanic answers instead", exc_info=True)
            reply = None
        if not isinstance(reply, Reply):
            self._hand_over()
            return
        done.clear()
        self._raw.clear()
        self._metrics.fast_path += 1
        self._time = monotonic()  # Sanic's keep-alive clock
        transport = self.transport
        if transport is not None:
            transport.write(reply.to_http1())
            if self._write_paused:
                transport.pause_reading()  # the client is not reading: stop taking requests

    def pause_writing(self) -> None:
        super().pause_writing()  # type: ignore[no-untyped-call]
        self._write_paused = True

    def resume_writing(self) -> None:
        super().resume_writing()  # type: ignore[no-untyped-call]
        self._write_paused = False
        if self._parser is not None and self.transport is not None:
            self.transport.resume_reading()

    def _hand_over(self) -> None:
        """From now on this connection is Sanic's; it gets every unanswered byte."""
        self._parser = None
        raw = bytes(self._raw)
        self._raw = bytearray()
        self._done.clear()
        if self.transport is not None:
            self.transport.resume_reading()
        if raw:
            super().data_received(raw)
