"""Read-only Docker Engine API calls over the local unix socket, stdlib only.

Only the no-op fast path uses this: importing the Docker SDK (and requests)
costs more than everything a converged `apply` or `diff` has to do. All writes,
and every read outside the fast path, go through the SDK in docker_api.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from typing import Any
from urllib.parse import quote


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class DockerLite:
    """GET-only client; `None` from `connect()` when the engine is not a local socket."""

    def __init__(self, path: str, timeout: float = 5.0) -> None:
        self.conn = _UnixConnection(path, timeout)

    @classmethod
    def connect(cls) -> DockerLite | None:
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        if not host.startswith("unix://") or os.environ.get("DOCKER_CONTEXT"):
            return None
        path = host[len("unix://") :]
        return cls(path) if os.path.exists(path) else None

    def get(self, path: str, **filters: list[str]) -> Any:
        if filters:
            path += ("&" if "?" in path else "?") + "filters=" + quote(json.dumps(filters))
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        body = response.read()
        if response.status == 404:
            return None
        if response.status != 200:
            raise OSError(f"Docker API {path}: HTTP {response.status}")
        return json.loads(body)

    def close(self) -> None:
        self.conn.close()
