"""The listening socket, bound before any Sanic code runs.

Binding here (not in Sanic) makes a busy port one line instead of a traceback, and
gives the supervisor one socket to share between its workers.
"""

from __future__ import annotations

import socket


def listen(host: str, port: int) -> socket.socket:
    """Raises OSError (for example EADDRINUSE) with nothing left open."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
