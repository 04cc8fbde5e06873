"""What one worker asks the others: their metrics, and stored Responses it lacks.

Workers are separate processes behind one port, so none of them sees every request.
Each worker answers on a unix socket in a folder private to this server (made by the
supervisor): one request line, one answer, then the connection closes.

    metrics          -> this worker's Prometheus text
    get <resp id>    -> the stored record, or nothing
    delete <resp id> -> "1" if it was stored here, else "0"

The worker that gets `GET /metrics` adds everyone's figures to its own
(`metrics.merge`); one that lacks a stored response asks the others (response_store.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass

_ASK_TIMEOUT = 1.0  # seconds; a worker that does not answer in time is left out
_MAX_LINE = 256


@dataclass(frozen=True)
class Peers:
    folder: str
    index: int  # this worker's
    count: int

    def path(self, index: int) -> str:
        return os.path.join(self.folder, f"worker-{index}.sock")

    def others(self) -> list[str]:
        return [self.path(i) for i in range(self.count) if i != self.index]


# A request line (without the newline) -> the answer bytes.
Answer = Callable[[bytes], bytes]


async def serve_own(peers: Peers, answer: Answer) -> asyncio.AbstractServer:
    """Answer this worker's side of every request line, then close."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), _ASK_TIMEOUT)
            writer.write(answer(line[:_MAX_LINE].strip()))
            await writer.drain()
        except (TimeoutError, OSError):
            pass
        finally:
            writer.close()

    path = peers.path(peers.index)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # left by a worker that was killed
    return await asyncio.start_unix_server(handle, path=path)


async def ask(path: str, request: bytes) -> bytes | None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), _ASK_TIMEOUT)
        try:
            writer.write(request + b"\n")
            await writer.drain()
            data = await asyncio.wait_for(reader.read(), _ASK_TIMEOUT)
        finally:
            writer.close()
    except (TimeoutError, OSError):
        return None
    return data


async def ask_others(peers: Peers, request: bytes) -> list[bytes]:
    """Every other worker's answer that came in time (in worker order)."""
    answers = await asyncio.gather(*(ask(path, request) for path in peers.others()))
    return [data for data in answers if data is not None]


async def gather_others(peers: Peers) -> list[str]:
    return [data.decode() for data in await ask_others(peers, b"metrics")]
