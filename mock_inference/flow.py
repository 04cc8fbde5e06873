"""The one path every generating API takes: decode → generate → encode, with auth,
faults, latency and metrics wrapped around it once.

An `Endpoint` is an API's pure part (chat, legacy completions, Responses, Anthropic
Messages), its own authentication and error shape included; this module owns what
they share, so they cannot drift apart: when the request is
answered at once (`answer_now`, also called by the fast path) or has to wait
(`serve_waiting`), when time to first token and inter-token latency are observed,
where an injected mid-stream error lands (`fail_point`) and how it is counted.
No Sanic here: a stream is written through the `Sink` the route hands in.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

from .errors import APIError, error_reply
from .faults import Faults
from .memo import Entry
from .metrics import Metrics
from .reply import Reply
from .response_store import Elsewhere, Fetch
from .sse import HEADERS_BASE
from .state import State
from .timing import Timing, timing_for
from .turn import Counts
from .waiting import Waiting

R = TypeVar("R")

STREAM_ERROR_MESSAGE = "Injected mid-stream failure (x-mock-fault)"


def fail_point(steps: int) -> int:
    """The token event before which an injected `stream_error` lands: half way.
    With no token events at all it lands right after the opening."""
    return steps // 2


class Generated(Protocol):
    """What the shared path reads of a generated turn, whatever its API's shape."""

    @property
    def steps(self) -> int:
        """Token events of its stream, after the opening."""
        ...

    def counts(self) -> Counts:
        """What the metrics record of it; `steps` there also times a whole answer."""
        ...


T = TypeVar("T", bound=Generated)


class StreamEncoder(Protocol):
    """How one API writes a turn as server-sent events."""

    def headers(self) -> dict[str, str]:
        """The stream's response headers: its request id, under this API's name (and
        its content type, when not plain text/event-stream)."""
        ...

    def preamble(self) -> Iterable[bytes]:
        """Sent at once, before time to first token (Responses' `response.created`,
        Messages' `message_start`)."""
        ...

    def opening(self) -> Iterable[bytes]:
        """Sent after time to first token, before the first token event."""
        ...

    def step(self, k: int) -> Iterable[bytes]:
        """Token event k (0 <= k < turn.steps): token k of every choice that has one."""
        ...

    def closing(self) -> Iterable[bytes]:
        """Finish reasons, usage, the end marker."""
        ...

    def failure(self, message: str) -> bytes:
        """This API's in-stream error event."""
        ...


class Endpoint(Protocol[R, T]):
    route: str  # the path, as counted in mock_http_requests_total

    def authorize(self, state: State, headers: Any) -> None:
        """Raise APIError(401) unless the request carries a key this API accepts."""
        ...

    def error(self, exc: APIError) -> Reply:
        """An error in this API's shape."""
        ...

    def decode(self, state: State, body: bytes) -> R: ...

    def reusable(self, req: R) -> bool:
        """Whether `req` was decoded from its body alone, so the same body decodes to it
        again (memo.py)."""
        ...

    def prompt_tokens(self, req: R) -> int: ...

    def streams(self, req: R) -> bool: ...

    def generate(self, state: State, req: R, headers: Mapping[str, str]) -> T: ...

    def encode(self, state: State, req: R, turn: T) -> Reply: ...

    def stream(self, state: State, req: R, turn: T) -> StreamEncoder: ...


class OpenAIShaped:
    """Authorization: Bearer and OpenAI's error shape (errors.py): the Endpoint part
    chat, legacy completions and Responses share. Plain functions, no extra call."""

    authorize = staticmethod(State.authorize)
    error = staticmethod(error_reply)


class Sink(Protocol):
    async def send(self, data: bytes) -> Any: ...

    async def eof(self) -> Any: ...


# Starts the streamed response with these headers and returns where to write it.
Respond = Callable[[dict[str, str]], Awaitable[Sink]]


def answer_now(
    endpoint: Endpoint[R, Any], state: State, method: str, path: str, headers: Any, body: bytes
) -> Reply | Waiting[R] | Fetch:
    """The whole answer, computed without waiting: a body or an error in the endpoint's
    shape (injected faults included); or, for a request that has to wait (streaming,
    simulated latency, a forced timeout or stream_error), the validated request, with
    nothing counted or drawn yet; or, when it continues a response another worker
    stored, what to fetch first.
    A body seen before is not decoded again, and its answer may come from a template
    (memo.py)."""
    started = time.perf_counter()
    route = endpoint.route
    try:
        endpoint.authorize(state, headers)
        memo = state.memo
        entry = memo.lookup(route, body)
        if entry is None:
            try:
                req = endpoint.decode(state, body)
            except Elsewhere as elsewhere:
                return Fetch(elsewhere.rid)
            entry = Entry(req, endpoint.prompt_tokens(req), endpoint.streams(req))
            if endpoint.reusable(req):
                memo.remember(route, body, entry)
        else:
            req = entry.request
        timing = timing_for(state.settings, headers, entry.prompt_tokens)
        if entry.streams or not timing.zero or Faults.forced_wait(headers):
            return Waiting(req, timing, started)
        state.faults.check(method, path, headers, body)

        def generate() -> tuple[Reply, Counts]:
            turn = endpoint.generate(state, req, headers)
            return endpoint.encode(state, req, turn), turn.counts()

        reply, counts = memo.answer(entry, state.plain(headers), generate)
        if reply.keep is not None:
            state.responses.put(*reply.keep)
        record_answer(state.metrics, route, counts, timing, started)
        return reply
    except APIError as exc:
        state.metrics.http[(route, exc.status_code)] += 1
        return endpoint.error(exc)


def record_answer(
    metrics: Metrics, route: str, counts: Counts, timing: Timing, started: float
) -> None:
    """Metrics of a non-streamed answer: its simulated TTFT and ITL, as a stream of the
    same turn would have shown them."""
    elapsed = time.perf_counter() - started
    metrics.answered(
        route, counts, timing.ttft if timing.ttft > 0 else elapsed, timing.itl, elapsed
    )


async def serve_waiting(
    endpoint: Endpoint[R, Any],
    state: State,
    waiting: Waiting[R],
    method: str,
    path: str,
    headers: Any,
    body: bytes,
    respond: Respond,
) -> Reply | None:
    """Carry on with a request `answer_now` handed over: a Reply to send, or None when
    the answer was streamed through `respond`."""
    req, timing, started = waiting.request, waiting.timing, waiting.started
    metrics = state.metrics
    try:
        deferred = state.faults.check(method, path, headers, body)
        turn = endpoint.generate(state, req, headers)
    except APIError as exc:
        metrics.http[(endpoint.route, exc.status_code)] += 1
        return endpoint.error(exc)
    metrics.running += 1
    try:
        if deferred == "timeout":
            await asyncio.sleep(state.settings.timeout_fault_seconds)
        if not endpoint.streams(req):
            counts = turn.counts()
            await asyncio.sleep(timing.ttft + timing.itl * max(0, counts.steps - 1))
            reply = endpoint.encode(state, req, turn)
            if reply.keep is not None:
                state.responses.put(*reply.keep)
            record_answer(metrics, endpoint.route, counts, timing, started)
            return reply
        encoder = endpoint.stream(state, req, turn)
        sink = await respond({**HEADERS_BASE, **encoder.headers()})
        await play(sink, encoder, turn, timing, deferred == "stream_error", metrics, started)
        # The status line said 200 whether or not an error was injected mid-stream.
        metrics.http[(endpoint.route, 200)] += 1
        await sink.eof()
        return None
    finally:
        metrics.running -= 1


async def play(
    sink: Sink,
    encoder: StreamEncoder,
    turn: Generated,
    timing: Timing,
    fail: bool,
    metrics: Metrics,
    started: float,
) -> None:
    """Send a turn's events with simulated latency. An injected failure is counted in
    mock_stream_errors_total and not as a success."""
    send = sink.send
    for event in encoder.preamble():
        await send(event)
    if timing.ttft > 0:
        await asyncio.sleep(timing.ttft)
    for event in encoder.opening():
        await send(event)
    metrics.ttft.observe(time.perf_counter() - started)
    steps = turn.steps
    fail_at = fail_point(steps) if fail else -1
    last = time.perf_counter()
    for k in range(steps + 1):
        if k == fail_at:
            await send(encoder.failure(STREAM_ERROR_MESSAGE))
            metrics.stream_errors += 1
            return
        if k == steps:
            break
        if k and timing.itl > 0:
            await asyncio.sleep(timing.itl)
        for event in encoder.step(k):
            await send(event)
        if k:
            now = time.perf_counter()
            metrics.itl.observe(now - last)
            last = now
    for event in encoder.closing():
        await send(event)
    elapsed = time.perf_counter() - started
    counts = turn.counts()
    metrics.finished(counts.prompt_tokens, counts.completion_tokens, counts.finish_reason, elapsed)
