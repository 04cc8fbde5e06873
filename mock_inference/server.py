"""One Sanic server in this process: the whole service, or one worker of supervisor.py."""

from __future__ import annotations

import socket
from typing import Any

from sanic import Sanic

from .app import create_app
from .config import Settings
from .fastpath import FastPathProtocol
from .peers import Peers


def serve(
    settings: Settings,
    sock: socket.socket | None = None,
    counters: Any = None,
    peers: Peers | None = None,
) -> None:
    """One Sanic server in this process: one worker of supervisor.py."""
    app = create_app(settings, counters=counters, peers=peers)
    where: dict[str, Any] = (
        {"sock": sock} if sock is not None else {"host": settings.host, "port": settings.port}
    )
    app.prepare(
        **where,
        single_process=True,
        access_log=False,
        motd=False,
        protocol=FastPathProtocol,
    )
    Sanic.serve_single(primary=app)
