"""Metrics from every worker, not just the one that was scraped.

Workers are separate processes behind one port, so none of them sees every request.
Each worker answers its own figures on a unix socket in a folder private to this
server (made by the supervisor); the worker that gets `GET /metrics` asks the others
and adds their figures to its own (`metrics.merge`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass

_ASK_TIMEOUT = 1.0  # seconds; a worker that does not answer in time is left out


@dataclass(frozen=True)
class Peers:
    folder: str
    index: int  # this worker's
    count: int

    def path(self, index: int) -> str:
        return os.path.join(self.folder, f"worker-{index}.sock")

    def others(self) -> list[str]:
        return [self.path(i) for i in range(self.count) if i != self.index]


async def serve_own(peers: Peers, render: Callable[[], str]) -> asyncio.AbstractServer:
    """Answer this worker's metrics text to whoever connects, then close."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(render().encode())
            await writer.drain()
        finally:
            writer.close()

    path = peers.path(peers.index)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # left by a worker that was killed
    return await asyncio.start_unix_server(answer, path=path)


async def ask(path: str) -> str | None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), _ASK_TIMEOUT)
        try:
            data = await asyncio.wait_for(reader.read(), _ASK_TIMEOUT)
        finally:
            writer.close()
    except (TimeoutError, OSError):
        return None
    return data.decode()


async def gather_others(peers: Peers) -> list[str]:
    answers = await asyncio.gather(*(ask(path) for path in peers.others()))
    return [text for text in answers if text is not None]
